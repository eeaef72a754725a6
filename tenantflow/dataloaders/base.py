"""The one loader base: a batch of keys answered in one reading transaction of the tenant.

Every loader of the request is a `TenantLoader`; most are `rows_by_id` over a statement. A batch
opens its own short transaction through the request's `TenantDb` (sibling resolvers run
concurrently, and an AsyncSession must not be shared between concurrent awaits) and returns one
value per key, in key order.
"""

from __future__ import annotations

import uuid
from collections.abc import Awaitable, Callable, Sequence
from typing import Any, Protocol, TypeVar

import sqlalchemy as sa
from sqlmodel.ext.asyncio.session import AsyncSession
from strawberry.dataloader import DataLoader

from tenantflow.db.session import TenantDb, execute

K = TypeVar("K")
V = TypeVar("V")


class Identified(Protocol):
    @property
    def id(self) -> uuid.UUID: ...


RowT = TypeVar("RowT", bound=Identified)

Batch = Callable[[AsyncSession, list[K]], Awaitable[Sequence[V | BaseException]]]


class TenantLoader(DataLoader[K, V]):
    """Loads `batch(session, keys)` in one reading transaction of the handle's tenant."""

    def __init__(self, db: TenantDb, batch: Batch[K, V]) -> None:
        async def load(keys: list[K]) -> Sequence[V | BaseException]:
            async with db.reader() as session:
                return await batch(session, keys)

        super().__init__(load_fn=load)


def rows_by_id(
    db: TenantDb, model: type[RowT], statement: sa.Select[Any] | None = None
) -> TenantLoader[uuid.UUID, RowT | None]:
    """Rows of `model` by id, selected by `statement` (`select(model)` unless given: a join or a
    condition narrows which rows count); None for an id no row of the tenant matches."""
    chosen = statement if statement is not None else sa.select(model)
    column = sa.inspect(model).primary_key[0]

    async def batch(session: AsyncSession, ids: list[uuid.UUID]) -> list[RowT | None]:
        rows = (await execute(session, chosen.where(column.in_(ids)))).scalars().all()
        found: dict[uuid.UUID, RowT] = {row.id: row for row in rows}
        return [found.get(key) for key in ids]

    return TenantLoader(db, batch)
