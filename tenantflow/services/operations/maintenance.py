"""Retention: purge deleted tenants past their retention, and expired events and executions.

Runs on the owner connection only. On PostgreSQL the work is done by the owner-only SECURITY
DEFINER functions of migration 0003 (`tf_purge_deleted_tenants`, `tf_purge_expired`), which the
runtime role cannot call. SQLite has neither roles, RLS nor triggers: the same deletes run as plain
statements, and every tenant-owned row (audit rows and the tenant's data key included) goes with
the tenant row through the `ON DELETE CASCADE` foreign keys (the engine turns them on).

Deleting the tenant's data key is what makes its secrets unrecoverable (crypto-shredding): their
ciphertexts are bound to that key alone.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine
from sqlmodel import col

from tenantflow.db.models import Execution, ExecutionEvent, Tenant
from tenantflow.db.types import UTCDateTime, utcnow
from tenantflow.enums import ExecutionStatus, TenantStatus

_TERMINAL = [status for status in ExecutionStatus if status.is_terminal]


@dataclass(frozen=True, slots=True)
class Retention:
    tenant_days: int
    event_days: int
    execution_days: int


@dataclass(frozen=True, slots=True)
class PurgeReport:
    tenants: list[uuid.UUID]
    events: int
    executions: int
    # The cut-offs used: rows older than these went.
    tenants_deleted_before: datetime
    events_before: datetime
    executions_finished_before: datetime


async def purge(
    engine: AsyncEngine, retention: Retention, *, now: datetime | None = None
) -> PurgeReport:
    """Purge, in one transaction of the owner connection `engine`."""
    now = now or utcnow()
    tenants_before = now - timedelta(days=retention.tenant_days)
    events_before = now - timedelta(days=retention.event_days)
    executions_before = now - timedelta(days=retention.execution_days)
    async with engine.begin() as connection:
        if connection.dialect.name == "postgresql":
            events, executions = await _expired_postgresql(
                connection, events_before, executions_before
            )
            tenants = await _tenants_postgresql(connection, tenants_before)
        else:
            events, executions = await _expired_sqlite(connection, events_before, executions_before)
            tenants = await _tenants_sqlite(connection, tenants_before)
    return PurgeReport(
        tenants, events, executions, tenants_before, events_before, executions_before
    )


async def _tenants_postgresql(connection: AsyncConnection, before: datetime) -> list[uuid.UUID]:
    statement = sa.text("SELECT * FROM tf_purge_deleted_tenants(:before)").bindparams(
        sa.bindparam("before", type_=UTCDateTime())
    )
    result = await connection.execute(statement, {"before": before})
    return [uuid.UUID(str(value)) for value in result.scalars().all()]


async def _expired_postgresql(
    connection: AsyncConnection, events_before: datetime, executions_before: datetime
) -> tuple[int, int]:
    statement = sa.text("SELECT * FROM tf_purge_expired(:events, :executions)").bindparams(
        sa.bindparam("events", type_=UTCDateTime()),
        sa.bindparam("executions", type_=UTCDateTime()),
    )
    row = (
        await connection.execute(
            statement, {"events": events_before, "executions": executions_before}
        )
    ).one()
    return int(row.events), int(row.executions)


async def _tenants_sqlite(connection: AsyncConnection, before: datetime) -> list[uuid.UUID]:
    victims = list(
        (
            await connection.execute(
                sa.select(col(Tenant.id))
                .where(
                    col(Tenant.status) == TenantStatus.DELETED,
                    col(Tenant.deleted_at) < before,
                )
                .order_by(col(Tenant.deleted_at))
            )
        )
        .scalars()
        .all()
    )
    for tenant_id in victims:
        # Everything the tenant owns cascades from its row (PRAGMA foreign_keys is on).
        await connection.execute(sa.delete(Tenant).where(col(Tenant.id) == tenant_id))
    return victims


async def _expired_sqlite(
    connection: AsyncConnection, events_before: datetime, executions_before: datetime
) -> tuple[int, int]:
    events = await connection.execute(
        sa.delete(ExecutionEvent).where(col(ExecutionEvent.at) < events_before)
    )
    # Steps, remaining events and idempotency keys of an execution cascade from it.
    executions = await connection.execute(
        sa.delete(Execution).where(
            col(Execution.status).in_(_TERMINAL),
            col(Execution.finished_at) < executions_before,
        )
    )
    return int(events.rowcount), int(executions.rowcount)
