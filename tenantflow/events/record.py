"""The per-tenant execution event stream: rows written in the transaction of the change they tell.

Positions (`seq`) come from the tenant's `event_sequences` row, locked by the writing transaction:
a later position can only be taken after the earlier transaction ends, so positions follow commit
order and a reader resuming after position N never misses an event that commits later.

Times (`at`) follow the same order: `event_time` takes that lock *before* it reads the clock, and
never returns a time before the tenant's last event, so `at` never decreases along the stream
(whatever the clocks of other processes say). A writer takes its change's time from it.
"""

from __future__ import annotations

import base64
import binascii
import uuid
from datetime import datetime
from typing import Any

from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from tenantflow.db.counters import increment
from tenantflow.db.models import EventSequence, Execution, ExecutionEvent, ExecutionStep
from tenantflow.db.types import utcnow
from tenantflow.enums import ExecutionStatus
from tenantflow.events.commit_hook import events_written, work_queued

_CURSOR_PREFIX = "ExecutionEvent:"


def step_snapshot(step: ExecutionStep) -> dict[str, Any]:
    """The step as an event carries it (JSON: the step may change again later)."""
    return {
        "nodeId": step.node_id,
        "nodeType": step.node_type,
        "status": step.status.value,
        "startedAt": _iso(step.started_at),
        "finishedAt": _iso(step.finished_at),
        "output": step.output,
        "error": step.error,
    }


def _iso(value: datetime | None) -> str | None:
    return value.isoformat() if value is not None else None


async def event_time(session: AsyncSession, tenant_id: uuid.UUID) -> datetime:
    """The time for the changes this transaction is about to record as events: the tenant's event
    stream is locked first (until the transaction ends), then the clock is read, and a time before
    the stream's last event is raised to it.

    Taking the lock first is what keeps `at` in commit order: a writer that computed its time and
    then waited for the lock would record an earlier `at` after a later one.
    """
    last_seq = await increment(
        session, EventSequence, keys={"tenant_id": tenant_id}, column="last_seq", by=0
    )
    now = utcnow()
    if last_seq:
        statement = select(ExecutionEvent.at).where(col(ExecutionEvent.seq) == last_seq)
        last_at = (await session.exec(statement)).first()  # None once retention removed it
        if last_at is not None and last_at > now:
            return last_at
    return now


async def record_execution_event(
    session: AsyncSession,
    *,
    execution: Execution,
    step: ExecutionStep | None = None,
    at: datetime | None = None,
) -> ExecutionEvent:
    """Add the event of `execution`'s current status (and of `step`, when one changed) at the
    tenant's next position. Call it in the transaction that made the change, with `at` from
    `event_time` in that transaction (taken here when omitted)."""
    if at is None:
        at = await event_time(session, execution.tenant_id)
    seq = await increment(
        session, EventSequence, keys={"tenant_id": execution.tenant_id}, column="last_seq"
    )
    event = ExecutionEvent(
        tenant_id=execution.tenant_id,
        seq=seq,
        execution_id=execution.id,
        workflow_id=execution.workflow_id,
        status=execution.status,
        step=step_snapshot(step) if step is not None else None,
        at=at,
    )
    session.add(event)
    # Once committed: the tenant's subscribers read it, and a queued run wakes an executor.
    events_written(session, execution.tenant_id)
    if execution.status is ExecutionStatus.QUEUED:
        work_queued(session)
    return event


def encode_event_cursor(seq: int) -> str:
    """The opaque cursor of the event at position `seq` of its tenant's stream."""
    raw = f"{_CURSOR_PREFIX}{seq}".encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode_event_cursor(cursor: str) -> int | None:
    """The position behind a cursor; None when it is not one of ours."""
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode()
    except (binascii.Error, UnicodeDecodeError, ValueError):
        return None
    prefix, _, seq = raw.partition(":")
    if f"{prefix}:" != _CURSOR_PREFIX or not (seq.isascii() and seq.isdigit()) or len(seq) > 18:
        return None
    return int(seq)
