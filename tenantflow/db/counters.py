"""Per-tenant counter rows (event positions, monthly usage), incremented atomically.

`INSERT … ON CONFLICT DO UPDATE … RETURNING` creates the row on first use and otherwise locks and
bumps it in one statement: the row stays locked until the transaction ends, exactly as a
`SELECT … FOR UPDATE` then `UPDATE` would, and two first writers cannot both insert it.
"""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite
from sqlmodel import SQLModel
from sqlmodel.ext.asyncio.session import AsyncSession

from tenantflow.db.session import execute


async def increment(
    session: AsyncSession,
    model: type[SQLModel],
    *,
    keys: dict[str, Any],
    column: str,
    by: int = 1,
) -> int:
    """Add `by` to `model.<column>` in the row identified by `keys` (created at `by` when
    absent); the new value. `keys` must be the table's primary key, tenant_id included."""
    table = sa.inspect(model).local_table
    dialect = (await session.connection()).dialect.name
    insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
    target = table.c[column]
    statement = (
        insert(table)
        .values(**keys, **{column: by})
        .on_conflict_do_update(index_elements=list(keys), set_={column: target + by})
        .returning(target)
    )
    return int((await execute(session, statement)).scalar_one())
