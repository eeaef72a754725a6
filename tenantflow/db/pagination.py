"""Keyset pagination for Relay connections: no OFFSET, stable while rows are inserted.

Every order is one sort key followed by the id, both in one direction, which the
`(tenant_id, <key>, id)` indexes serve forwards and backwards. A cursor holds the sort key as the
database computed it (SQLite's lower() is not Python's), the id, and a scope naming the order and
filter it belongs to: a cursor used with another order or filter is refused.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Generic, TypeVar

import orjson
import sqlalchemy as sa
from sqlalchemy.sql.elements import ColumnElement
from sqlmodel.ext.asyncio.session import AsyncSession

from tenantflow.db.session import execute
from tenantflow.db.types import UTCDateTime
from tenantflow.errors import ErrorCode, Refusal

MAX_PAGE_SIZE = 100
DEFAULT_PAGE_SIZE = 20
RowT = TypeVar("RowT")


class PaginationError(Refusal):
    def __init__(self, message: str) -> None:
        super().__init__(message, ErrorCode.BAD_USER_INPUT)


@dataclass(frozen=True, slots=True)
class PageArgs:
    first: int | None = None
    after: str | None = None
    last: int | None = None
    before: str | None = None

    @classmethod
    def of(
        cls,
        first: int | None = None,
        after: str | None = None,
        last: int | None = None,
        before: str | None = None,
    ) -> PageArgs:
        for name, value in (("first", first), ("last", last)):
            if value is not None and not 0 <= value <= MAX_PAGE_SIZE:
                raise PaginationError(f"`{name}` must be between 0 and {MAX_PAGE_SIZE}")
        if first is not None and last is not None:
            raise PaginationError("Pass `first` or `last`, not both")
        if first is None and last is None:
            first = DEFAULT_PAGE_SIZE
        return cls(first=first, after=after, last=last, before=before)

    @property
    def forward(self) -> bool:
        return self.last is None

    @property
    def size(self) -> int:
        size = self.first if self.forward else self.last
        assert size is not None  # of() always sets one of them
        return size


@dataclass(frozen=True)
class SortOrder:
    """One order of a connection: `key` then `id`, both ascending or both descending."""

    name: str
    key: ColumnElement[Any]
    id: ColumnElement[uuid.UUID]
    descending: bool
    key_type: sa.types.TypeEngine[Any]

    @classmethod
    def by_time(cls, name: str, key: Any, id_column: Any, *, descending: bool = True) -> SortOrder:
        return cls(name, key, id_column, descending, UTCDateTime())

    @classmethod
    def by_text(cls, name: str, key: Any, id_column: Any, *, descending: bool = False) -> SortOrder:
        return cls(name, key, id_column, descending, sa.String())

    def scope(self, *filters: object) -> str:
        """A fingerprint of the order and the filter, carried by every cursor."""
        material = json.dumps(
            [self.name, self.descending, [repr(f) for f in filters]], sort_keys=True, default=str
        )
        return hashlib.sha256(material.encode()).hexdigest()[:16]


@dataclass(frozen=True)
class Listing:
    """What a connection pages through: a filtered select (no order, no limit), its order, and
    the cursor scope of that order and filter (a cursor of another listing is refused)."""

    statement: sa.Select[Any]
    order: SortOrder
    scope: str

    @classmethod
    def of(cls, statement: sa.Select[Any], order: SortOrder, *filters: object) -> Listing:
        return cls(statement, order, order.scope(*filters))


@dataclass(frozen=True, slots=True)
class Page(Generic[RowT]):
    rows: list[RowT]
    cursors: list[str]
    has_next_page: bool
    has_previous_page: bool


def _encode_key(value: Any) -> Any:
    if isinstance(value, datetime):
        return value.isoformat()
    return value


def encode_cursor(scope: str, key: Any, row_id: uuid.UUID) -> str:
    payload = orjson.dumps([scope, _encode_key(key), str(row_id)])
    return base64.urlsafe_b64encode(payload).decode().rstrip("=")


def decode_cursor(cursor: str, order: SortOrder, scope: str) -> tuple[Any, uuid.UUID]:
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
        cursor_scope, key, row_id = json.loads(raw)
        parsed_id = uuid.UUID(str(row_id))
        if isinstance(order.key_type, UTCDateTime):
            key = datetime.fromisoformat(str(key))
        elif not isinstance(key, str):
            raise TypeError("text key expected")
    except (binascii.Error, ValueError, TypeError, UnicodeDecodeError) as error:
        raise PaginationError("Invalid cursor") from error
    if cursor_scope != scope:
        raise PaginationError("This cursor belongs to another order or filter")
    return key, parsed_id


def _beyond(order: SortOrder, cursor: tuple[Any, uuid.UUID], *, later: bool) -> Any:
    """Rows after (later=True) or before the cursor position, in the order's direction."""
    key, row_id = cursor
    position = sa.tuple_(sa.literal(key, type_=order.key_type), sa.literal(row_id, type_=sa.Uuid()))
    row = sa.tuple_(order.key, order.id)
    ascending_later = later != order.descending
    return row > position if ascending_later else row < position


SORT_KEY = "_sort_key"


def paged(
    statement: sa.Select[Any], order: SortOrder, args: PageArgs, scope: str
) -> sa.Select[Any]:
    """`statement` (a filtered select without order or limit) narrowed to one page of `args`,
    one row more than asked (to learn whether another page follows), with the order's key as a
    last column named SORT_KEY for the cursors."""
    if args.after:
        statement = statement.where(
            _beyond(order, decode_cursor(args.after, order, scope), later=True)
        )
    if args.before:
        statement = statement.where(
            _beyond(order, decode_cursor(args.before, order, scope), later=False)
        )
    descending = order.descending if args.forward else not order.descending
    direction = sa.desc if descending else sa.asc
    return (
        statement.add_columns(order.key.label(SORT_KEY))
        .order_by(direction(order.key), direction(order.id))
        .limit(args.size + 1)
    )


def page_of(
    fetched: Sequence[RowT],
    args: PageArgs,
    scope: str,
    *,
    sort_key: Callable[[RowT], Any],
    row_id: Callable[[RowT], uuid.UUID],
) -> Page[RowT]:
    """The page of `args` from the rows a `paged` statement fetched, in the order fetched."""
    more = len(fetched) > args.size
    shown = list(fetched[: args.size])
    if not args.forward:
        shown.reverse()
    cursors = [encode_cursor(scope, sort_key(row), row_id(row)) for row in shown]
    if args.forward:
        return Page(shown, cursors, has_next_page=more, has_previous_page=args.after is not None)
    return Page(shown, cursors, has_next_page=args.before is not None, has_previous_page=more)


async def fetch_page(
    session: AsyncSession,
    statement: sa.Select[Any],
    order: SortOrder,
    args: PageArgs,
    scope: str,
    *,
    row_of: Callable[[Sequence[Any]], RowT] = lambda row: row[0],
) -> Page[RowT]:
    """One page of `statement` (a filtered select without order or limit)."""
    fetched = list((await execute(session, paged(statement, order, args, scope))).all())
    page = page_of(
        fetched, args, scope, sort_key=lambda row: row[-1], row_id=lambda row: _id_of(row[0])
    )
    return Page(
        [row_of(row) for row in page.rows],
        page.cursors,
        has_next_page=page.has_next_page,
        has_previous_page=page.has_previous_page,
    )


def _id_of(entity: Any) -> uuid.UUID:
    row_id = entity.id
    assert isinstance(row_id, uuid.UUID)
    return row_id


async def count_rows(session: AsyncSession, statement: sa.Select[Any]) -> int:
    counted = sa.select(sa.func.count()).select_from(statement.subquery())
    return int((await execute(session, counted)).scalar_one())
