"""Input checks shared by the workflows, executions and deployments services.

Each check appends `FieldProblem`s (paths like `input.name`) to a `Problems` collector, so one
`ValidationError` names every bad field of a mutation at once.
"""

from __future__ import annotations

import enum
import re
from collections.abc import Iterable
from typing import Any, TypeAlias, TypeVar
from urllib.parse import urlsplit

from tenantflow.definitions import definition as engine
from tenantflow.services.errors import FieldProblem, ValidationFailed

T = TypeVar("T")

NAME_MAX_CHARS = 200
DESCRIPTION_MAX_CHARS = 2000
URL_MAX_CHARS = 2048
IDEMPOTENCY_KEY_MAX_CHARS = 200
# Control characters (tab and newline aside) have no place in names; NUL breaks PostgreSQL text.
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")
_SURROGATE = re.compile("[\ud800-\udfff]")


class Keep(enum.Enum):
    """An update input's omitted field: the stored value stays as it is."""

    KEEP = "KEEP"


KEEP = Keep.KEEP
Patch: TypeAlias = T | Keep


class Problems:
    """Collects the problems of one input; `raise_if_any` ends the check."""

    def __init__(self) -> None:
        self.items: list[FieldProblem] = []

    def add(self, field: str, message: str) -> None:
        self.items.append(FieldProblem(field, message))

    def extend(self, problems: Iterable[engine.FieldProblem]) -> None:
        """The engine's problems (its own FieldProblem class) as the domain's."""
        self.items.extend(FieldProblem(p.field, p.message) for p in problems)

    def raise_if_any(self) -> None:
        if self.items:
            raise ValidationFailed(self.items)

    def text(
        self,
        value: str | None,
        field: str,
        *,
        max_chars: int,
        required: bool,
        single_line: bool = True,
    ) -> None:
        """A string input: present when `required`, not blank, at most `max_chars` characters."""
        if value is None:
            if required:
                self.add(field, "must not be null")
            return
        if required and not value.strip():
            self.add(field, "must not be blank")
        if len(value) > max_chars:
            self.add(field, f"must be at most {max_chars} characters (got {len(value)})")
        if _SURROGATE.search(value):
            self.add(field, "contains an unpaired surrogate (not valid Unicode)")
        if "\x00" in value or (single_line and _CONTROL.search(value)):
            self.add(field, "must not contain control characters")

    def definition(self, value: object, field: str) -> None:
        """A workflow definition: size, depth and graph rules (tenantflow.definitions)."""
        self.extend(engine.validate_definition(value, path=field))

    def json(self, value: object, field: str) -> None:
        """Any JSON input: at most 256 KiB, at most 32 levels deep, storable."""
        self.extend(engine.check_json_size(value, path=field))

    def url(self, value: str, field: str) -> None:
        """An absolute http(s) URL with a host."""
        if len(value) > URL_MAX_CHARS:
            self.add(field, f"must be at most {URL_MAX_CHARS} characters")
            return
        if _CONTROL.search(value) or _SURROGATE.search(value) or any(c.isspace() for c in value):
            self.add(field, "must be an http or https URL without spaces or control characters")
            return
        try:
            parts = urlsplit(value)
            host = parts.hostname
        except ValueError:
            self.add(field, "must be an http or https URL")
            return
        if parts.scheme.lower() not in ("http", "https"):
            self.add(field, "must be an http or https URL")
        elif not host:
            self.add(field, "must be an absolute URL with a host")


def not_null(problems: Problems, value: Any, field: str) -> None:
    """An update field that may be omitted but not set to null."""
    if value is None:
        problems.add(field, "must not be null (omit the field to keep its value)")
