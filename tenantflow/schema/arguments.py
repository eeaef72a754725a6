"""Reading GraphQL arguments, in one place: omitted values, pages, patches, filters.

Optional arguments and input fields default to `strawberry.UNSET`, so that the SDL shows them as
the contract does (`first: Int`, not `first: Int = null`); these turn UNSET into values and refuse
what no resolver should see (a timestamp without an offset, an oversized search). Ids are read by
`schema/ids.py`.
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import TypeVar

import strawberry

from tenantflow.db.pagination import PageArgs
from tenantflow.errors import bad_input
from tenantflow.schema.ids import filter_key
from tenantflow.services.workflows.inputs import KEEP, Patch

T = TypeVar("T")
SEARCH_MAX_CHARS = 200


def given(value: T | None) -> T | None:
    """An optional argument's value; None when omitted (UNSET) or null."""
    return None if value is strawberry.UNSET else value


def page_args(
    first: int | None, after: str | None, last: int | None, before: str | None
) -> PageArgs:
    """A connection's paging arguments, checked (see PageArgs.of)."""
    return PageArgs.of(given(first), given(after), given(last), given(before))


def patch(value: T) -> Patch[T]:
    """An update input's field: KEEP when omitted, else its value (None clears)."""
    return KEEP if value is strawberry.UNSET else value


def aware(value: datetime | None, argument: str) -> datetime | None:
    """A filter's timestamp, in UTC; one without an offset is refused (it names no instant)."""
    value = given(value)
    if value is None:
        return None
    if value.utcoffset() is None:
        raise bad_input(f"{argument} needs an explicit UTC offset, e.g. 2026-11-26T10:00:00+00:00")
    return value.astimezone(UTC)


def search_text(value: str | None, argument: str) -> str | None:
    value = given(value)
    if value is not None and len(value) > SEARCH_MAX_CHARS:
        raise bad_input(f"`{argument}` must be at most {SEARCH_MAX_CHARS} characters")
    return value


def statuses(values: list[T] | None) -> tuple[T, ...] | None:
    """A filter's list of values, without repeats; None when omitted."""
    values = given(values)
    return tuple(dict.fromkeys(values)) if values is not None else None


def filter_id(value: strawberry.ID | None, type_name: str) -> uuid.UUID | None:
    """The key of an optional id in a filter (see ids.filter_key); None when omitted."""
    value = given(value)
    return None if value is None else filter_key(value, type_name)
