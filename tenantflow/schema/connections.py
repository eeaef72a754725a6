"""Relay connections: `<Type>Connection` and `<Type>Edge` for every paginated node type, and the
one function that answers every connection field.

A connection field names what it lists (a `PageSource`: a root `Listing` of the tenant, or the
children of one parent, which the loaders page for many parents at once) and how a row becomes a
node; `connection()` does the paging, cursors, `pageInfo`, and a total counted only when selected.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any, Generic, Protocol, TypeVar

import strawberry

from tenantflow.db.pagination import Listing, Page, PageArgs, count_rows, fetch_page
from tenantflow.db.session import TenantDb

NodeT = TypeVar("NodeT")
RowT = TypeVar("RowT")


@strawberry.type
class PageInfo:
    has_next_page: bool
    has_previous_page: bool
    start_cursor: str | None
    end_cursor: str | None


@strawberry.type
class Edge(Generic[NodeT]):
    cursor: str
    node: NodeT


@strawberry.type
class Connection(Generic[NodeT]):
    """Strawberry names `Connection[Workflow]` WorkflowConnection, as the contract does."""

    edges: list[Edge[NodeT]]
    page_info: PageInfo
    # Counting costs a query of its own: run only when totalCount is selected.
    count: strawberry.Private[Callable[[], Awaitable[int]]]

    @strawberry.field
    async def total_count(self) -> int:
        return await self.count()

    @classmethod
    def of(
        cls, nodes: list[NodeT], page: Page[Any], count: Callable[[], Awaitable[int]]
    ) -> Connection[NodeT]:
        return cls(
            edges=[Edge(cursor=c, node=n) for n, c in zip(nodes, page.cursors, strict=True)],
            page_info=PageInfo(
                has_next_page=page.has_next_page,
                has_previous_page=page.has_previous_page,
                start_cursor=page.cursors[0] if page.cursors else None,
                end_cursor=page.cursors[-1] if page.cursors else None,
            ),
            count=count,
        )


class PageSource(Protocol[RowT]):
    """Where a connection's rows come from."""

    async def page(self, args: PageArgs) -> Page[RowT]: ...

    async def count(self) -> int: ...


@dataclass(frozen=True)
class Listed(Generic[RowT]):
    """A root list of the tenant: one keyset page per request, in a reading transaction."""

    db: TenantDb
    listing: Listing

    async def page(self, args: PageArgs) -> Page[RowT]:
        async with self.db.reader() as session:
            page: Page[RowT] = await fetch_page(
                session, self.listing.statement, self.listing.order, args, self.listing.scope
            )
            return page

    async def count(self) -> int:
        async with self.db.reader() as session:
            return await count_rows(session, self.listing.statement)


async def connection(
    source: PageSource[RowT], args: PageArgs, node: Callable[[RowT], NodeT]
) -> Connection[NodeT]:
    """The connection of one page of `source`, each row shown as `node(row)`."""
    page = await source.page(args)
    return Connection.of([node(row) for row in page.rows], page, source.count)
