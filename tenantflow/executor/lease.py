"""An execution's lease: which worker runs it, renewed by a heartbeat while it runs.

Ownership is decided by `lease_owner` alone, read under the execution's row lock: a worker whose
lease was taken over (it lapsed while the worker was stalled) finds another owner there and stops
without writing. The heartbeat keeps the lease from lapsing, and also notices early that the
execution was cancelled or taken, so a long node is interrupted instead of run to its end.
"""

from __future__ import annotations

import asyncio
import logging
import uuid
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from enum import Enum
from typing import Any

import sqlalchemy as sa
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from tenantflow.db.locking import locked
from tenantflow.db.models import Execution
from tenantflow.db.session import SessionFactory, execute
from tenantflow.db.types import utcnow
from tenantflow.enums import ExecutionStatus

log = logging.getLogger(__name__)


class Interruption(Enum):
    """Why the node in progress should stop before it ends."""

    LOST = "lost"  # another worker holds the lease now: write nothing more
    CANCELLED = "cancelled"  # the execution was cancelled: mark the step CANCELLED
    SHUTDOWN = "shutdown"  # this process is stopping: hand the execution back


@dataclass
class Lease:
    worker: str
    tenant_id: uuid.UUID
    execution_id: uuid.UUID
    seconds: int
    reason: Interruption | None = None
    interrupted: asyncio.Event = field(default_factory=asyncio.Event)

    def interrupt(self, reason: Interruption) -> None:
        if self.reason is None:
            self.reason = reason
        self.interrupted.set()


def lease_until(dialect: str, seconds: int) -> sa.ColumnElement[Any] | datetime:
    """The new expiry, on the clock the claim compares it with (the database's on PostgreSQL)."""
    if dialect == "postgresql":
        return sa.func.now() + sa.literal(timedelta(seconds=seconds), sa.Interval())
    return utcnow() + timedelta(seconds=seconds)


async def renew(sessions: SessionFactory, lease: Lease) -> ExecutionStatus | None:
    """Extend the lease if it is still ours; the execution's status, or None when it is not."""
    async with sessions.tenant_transaction(lease.tenant_id, visible=False) as session:
        dialect = (await session.connection()).dialect.name
        statement = (
            sa.update(Execution)
            .where(
                col(Execution.id) == lease.execution_id,
                col(Execution.lease_owner) == lease.worker,
            )
            .values(lease_expires_at=lease_until(dialect, lease.seconds))
            .returning(col(Execution.status))
            .execution_options(synchronize_session=False)
        )
        status: ExecutionStatus | None = (await execute(session, statement)).scalar_one_or_none()
    return status


async def heartbeat(sessions: SessionFactory, lease: Lease) -> None:
    """Renew the lease every third of its length until cancelled or the lease is interrupted."""
    interval = lease.seconds / 3
    while not lease.interrupted.is_set():
        await asyncio.sleep(interval)
        try:
            status = await renew(sessions, lease)
        except Exception:
            # A database blip: the next beat tries again; writes still check the owner.
            log.warning("execution %s: lease renewal failed", lease.execution_id, exc_info=True)
            continue
        if status is None:
            log.warning("execution %s: lease taken by another worker", lease.execution_id)
            lease.interrupt(Interruption.LOST)
        elif status is ExecutionStatus.CANCELLED:
            lease.interrupt(Interruption.CANCELLED)


def release(execution: Execution) -> None:
    """Clear the lease (the caller holds the row lock and commits)."""
    execution.lease_owner = None
    execution.lease_expires_at = None


def hand_back(execution: Execution) -> None:
    """Release an unfinished execution for another worker, without counting this attempt as a
    loss: the claim counted it, and the attempts limit is for processes that die."""
    release(execution)
    execution.attempts = max(execution.attempts - 1, 0)


async def lock_if_owned(session: AsyncSession, lease: Lease) -> Execution | None:
    """The execution, locked until the transaction ends, when the lease is still ours."""
    statement = locked(select(Execution).where(col(Execution.id) == lease.execution_id))
    execution = (await session.exec(statement)).first()
    if execution is None or execution.lease_owner != lease.worker:
        return None
    return execution
