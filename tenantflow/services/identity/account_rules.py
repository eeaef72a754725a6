"""Input rules of accounts and tenants: emails, passwords, names, slugs.

Each check returns the problem it found (or None), so that a form reports every bad field at once.
"""

from __future__ import annotations

import re

from tenantflow.auth import passwords
from tenantflow.auth.throttle import normalize_email
from tenantflow.enums import Plan
from tenantflow.services.errors import FieldProblem, ValidationFailed

__all__ = [
    "email_problem",
    "name_problem",
    "normalize_email",
    "password_problem",
    "plan_problem",
    "raise_problems",
    "slug_problem",
]

EMAIL_MAX_LENGTH = 320
# Deliberately loose: one @, no spaces, a dot in the domain; deliverability is not checked here.
_EMAIL = re.compile(r"[^@\s]{1,64}@[^@\s.][^@\s]*\.[^@\s.]+")
SLUG_MIN_LENGTH = 3
SLUG_MAX_LENGTH = 50
_SLUG = re.compile(r"[a-z0-9](-?[a-z0-9])*")
# Plans a customer may choose; ENTERPRISE is set by the operator only.
SELF_SERVICE_PLANS = frozenset({Plan.FREE, Plan.STARTER, Plan.PRO})


def email_problem(field: str, email: str) -> FieldProblem | None:
    text = email.strip()
    if len(text) > EMAIL_MAX_LENGTH or not _EMAIL.fullmatch(text):
        return FieldProblem(field, "Enter a valid email address")
    return None


def password_problem(field: str, password: str) -> FieldProblem | None:
    if not passwords.MIN_LENGTH <= len(password) <= passwords.MAX_LENGTH:
        return FieldProblem(
            field,
            f"Use {passwords.MIN_LENGTH} to {passwords.MAX_LENGTH} characters",
        )
    return None


def name_problem(
    field: str, name: str | None, *, max_length: int, required: bool
) -> FieldProblem | None:
    text = (name or "").strip()
    if required and not text:
        return FieldProblem(field, "Required")
    if len(text) > max_length:
        return FieldProblem(field, f"At most {max_length} characters")
    return None


def slug_problem(field: str, slug: str | None) -> FieldProblem | None:
    if not slug:
        return FieldProblem(field, "Required")
    if not SLUG_MIN_LENGTH <= len(slug) <= SLUG_MAX_LENGTH or not _SLUG.fullmatch(slug):
        return FieldProblem(
            field,
            f"{SLUG_MIN_LENGTH} to {SLUG_MAX_LENGTH} lower-case letters, digits and single"
            " hyphens, starting and ending with a letter or digit",
        )
    return None


def plan_problem(field: str, plan: Plan) -> FieldProblem | None:
    if plan not in SELF_SERVICE_PLANS:
        return FieldProblem(field, "Choose FREE, STARTER or PRO: ENTERPRISE is set by the operator")
    return None


def raise_problems(*problems: FieldProblem | None) -> None:
    """Raise one ValidationFailed naming every problem found, if any."""
    found = [problem for problem in problems if problem is not None]
    if found:
        raise ValidationFailed(found)
