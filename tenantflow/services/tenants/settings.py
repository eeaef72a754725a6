"""Tenant settings: their defaults and the rules each value must follow.

Stored in `tenants.settings` under the names the API uses (`companyEmail`, ...), which are also the
names the module catalogue's `required_settings` lists. Only values set are stored; a required
setting left out or cleared reads as its default.
"""

from __future__ import annotations

import re
import zoneinfo
from collections.abc import Callable, Mapping
from typing import Any
from urllib.parse import urlsplit

from tenantflow.services.errors import FieldProblem
from tenantflow.services.identity.account_rules import email_problem

DEFAULTS: Mapping[str, str] = {"timezone": "UTC", "locale": "en-US", "currency": "USD"}
OPTIONAL = ("companyEmail", "address", "logoUrl")
NAMES = (*DEFAULTS, *OPTIONAL)

# BCP 47 language tags as browsers use them: language, optional script, optional region.
_LOCALE = re.compile(r"[a-z]{2,3}(-[A-Z][a-z]{3})?(-([A-Z]{2}|[0-9]{3}))?")
_CURRENCY = re.compile(r"[A-Z]{3}")
ADDRESS_MAX_LENGTH = 500
URL_MAX_LENGTH = 2048


def current(stored: Mapping[str, Any]) -> dict[str, str | None]:
    """Every setting as the API shows it: stored values over the defaults."""
    return {name: stored.get(name) or DEFAULTS.get(name) for name in NAMES}


def is_set(stored: Mapping[str, Any], name: str) -> bool:
    return bool(stored.get(name))


def _timezone(value: str) -> str | None:
    refusal = "An IANA time zone, e.g. Europe/Berlin"
    # IANA names are short; a long one made ZoneInfo's file lookup raise OSError (a 503).
    if len(value) > 64:
        return refusal
    try:
        zoneinfo.ZoneInfo(value)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError, OSError):  # OSError: "Europe", a folder
        return refusal
    return None


def _locale(value: str) -> str | None:
    return None if _LOCALE.fullmatch(value) else "A language tag, e.g. en-US or de"


def _currency(value: str) -> str | None:
    return None if _CURRENCY.fullmatch(value) else "An ISO 4217 code: three capital letters"


def _company_email(value: str) -> str | None:
    problem = email_problem("", value)
    return problem.message if problem else None


def _address(value: str) -> str | None:
    return None if len(value) <= ADDRESS_MAX_LENGTH else f"At most {ADDRESS_MAX_LENGTH} characters"


def _logo_url(value: str) -> str | None:
    parts = urlsplit(value)
    if len(value) > URL_MAX_LENGTH or parts.scheme not in ("http", "https") or not parts.netloc:
        return "An http or https URL"
    return None


_RULES: Mapping[str, Callable[[str], str | None]] = {
    "timezone": _timezone,
    "locale": _locale,
    "currency": _currency,
    "companyEmail": _company_email,
    "address": _address,
    "logoUrl": _logo_url,
}


def apply(
    stored: Mapping[str, Any], changes: Mapping[str, str | None], path: str
) -> tuple[dict[str, Any], list[FieldProblem]]:
    """The stored settings with `changes` applied (None clears), and the problems of the changes.

    Values are trimmed; an empty value clears like null.
    """
    settings = dict(stored)
    problems = []
    for name, raw in changes.items():
        value = raw.strip() if raw is not None else None
        if not value:
            settings.pop(name, None)
            continue
        problem = _RULES[name](value)
        if problem:
            problems.append(FieldProblem(f"{path}.{name}", problem))
        settings[name] = value
    return settings, problems
