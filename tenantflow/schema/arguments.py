"""Reading optional GraphQL arguments.

Optional arguments and input fields default to `strawberry.UNSET`, so that the SDL shows them as
the contract does (`first: Int`, not `first: Int = null`); these turn UNSET into values.
"""

from __future__ import annotations

from typing import TypeVar

import strawberry

from tenantflow.db.pagination import PageArgs

T = TypeVar("T")


def given(value: T | None) -> T | None:
    """An optional argument's value; None when omitted (UNSET) or null."""
    return None if value is strawberry.UNSET else value


def page_args(
    first: int | None, after: str | None, last: int | None, before: str | None
) -> PageArgs:
    """A connection's paging arguments, checked (see PageArgs.of)."""
    return PageArgs.of(given(first), given(after), given(last), given(before))
