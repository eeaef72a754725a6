"""Reading a tenant's execution events in order, then following new ones as they commit."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass

import sqlalchemy as sa
from sqlmodel import col, select

from tenantflow.db.faults import is_unavailable
from tenantflow.db.models import EventSequence, ExecutionEvent
from tenantflow.db.session import TenantDb
from tenantflow.events.broker import LocalBroker

# Events committed by other processes are found within this many seconds.
POLL_SECONDS = 1.0
BATCH = 100
# While the database cannot serve, a subscriber tries again after growing pauses up to this.
OUTAGE_MAX_PAUSE_SECONDS = 5.0


@dataclass(frozen=True, slots=True)
class EventFilter:
    execution_id: uuid.UUID | None = None
    workflow_id: uuid.UUID | None = None


class CursorExpired(Exception):
    """Events after the cursor were already removed by retention."""


class CursorUnknown(Exception):
    """The cursor points past the end of the stream: not one this server handed out."""


async def stream_position(db: TenantDb) -> int:
    """The position of the tenant's latest event (0 before the first)."""
    async with db.reader() as session:
        last = (await session.exec(select(EventSequence.last_seq))).first()
    return int(last or 0)


async def check_resumable(db: TenantDb, after: int) -> None:
    """Raise unless every event after position `after` is still retained."""
    async with db.reader() as session:
        last = (await session.exec(select(EventSequence.last_seq))).first() or 0
        oldest = (await session.exec(select(sa.func.min(ExecutionEvent.seq)))).first()
    if after > last:
        raise CursorUnknown()
    missing_from = oldest if oldest is not None else last + 1
    if after + 1 < missing_from:
        raise CursorExpired()


async def read_after(db: TenantDb, after: int, where: EventFilter) -> list[ExecutionEvent]:
    statement = (
        select(ExecutionEvent)
        .where(col(ExecutionEvent.seq) > after)
        .order_by(col(ExecutionEvent.seq))
        .limit(BATCH)
    )
    if where.execution_id is not None:
        statement = statement.where(col(ExecutionEvent.execution_id) == where.execution_id)
    if where.workflow_id is not None:
        statement = statement.where(col(ExecutionEvent.workflow_id) == where.workflow_id)
    async with db.reader() as session:
        return list((await session.exec(statement)).all())


async def follow(
    db: TenantDb,
    broker: LocalBroker,
    after: int,
    where: EventFilter,
    *,
    still_allowed: Callable[[], Awaitable[bool]] | None = None,
    poll_seconds: float = POLL_SECONDS,
) -> AsyncIterator[ExecutionEvent]:
    """Every event after position `after`, in order, then each new one as it commits.

    Listens before the first read, so an event committed in between is not missed; reads from the
    table, so nothing is skipped or repeated whatever the wake-ups do. Rides out a database outage
    (it reads on from its position once the database is back). Ends when `still_allowed` says the
    subscriber lost access.
    """
    async with broker.listen(db.tenant_id) as wakeups:
        position = after
        pause = poll_seconds
        while True:
            try:
                events = await read_after(db, position, where)
            except Exception as error:
                if not is_unavailable(error):
                    raise
                await wakeups.wait(pause)
                pause = min(pause * 2, OUTAGE_MAX_PAUSE_SECONDS)
                continue
            pause = poll_seconds
            for event in events:
                position = event.seq
                yield event
            if len(events) == BATCH:
                continue
            if still_allowed is not None and not await still_allowed():
                return
            await wakeups.wait(poll_seconds)
