"""Relay connection types: `<Type>Connection` and `<Type>Edge` for every paginated node type."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any, Generic, TypeVar

import strawberry

from tenantflow.db.pagination import Page

NodeT = TypeVar("NodeT")


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
