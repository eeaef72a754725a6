"""Row helpers: conditional writes, and what an ORM row has loaded."""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import CursorResult
from sqlalchemy.sql.dml import Update
from sqlmodel.ext.asyncio.session import AsyncSession

from tenantflow.db.session import execute


async def updated_rows(session: AsyncSession, statement: Update) -> int:
    """Run an ORM UPDATE (tenant-scoped like any other) without synchronising loaded objects."""
    result: CursorResult[Any] = await execute(  # type: ignore[assignment]
        session, statement.execution_options(synchronize_session=False)
    )
    return result.rowcount


def is_loaded(row: object, attribute: str) -> bool:
    """Whether an ORM row holds `attribute` (lists load rows without their large JSON columns)."""
    return attribute not in sa.inspect(row).unloaded
