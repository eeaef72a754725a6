"""Reading a tenant's execution events in order, from the table (the source of truth)."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Any, cast

import sqlalchemy as sa
from sqlalchemy.orm import QueryableAttribute, defer
from sqlmodel import col, select

from tenantflow.db.models import EventSequence, Execution, ExecutionEvent
from tenantflow.db.session import TenantDb, execute

BATCH = 100
# The executions that come with a feed's events, without their large JSON (as lists load them).
_PAYLOADS = (Execution.definition, Execution.input, Execution.output)
_EXECUTION_WITHOUT_PAYLOADS = tuple(
    defer(cast("QueryableAttribute[Any]", column), raiseload=True) for column in _PAYLOADS
)
# The same read in one statement outside a transaction (PostgreSQL, migration 0005): the columns
# of execution_events, then those of executions without the payloads, matched by position.
_PAYLOAD_NAMES = {cast("QueryableAttribute[Any]", column).key for column in _PAYLOADS}
_FEED_EVENTS = sa.text("SELECT * FROM tf_feed_events(:tenant_id, :after, :limit)").columns(
    *sa.inspect(ExecutionEvent).local_table.columns,
    *(c for c in sa.inspect(Execution).local_table.columns if c.key not in _PAYLOAD_NAMES),
)
_FEED_READ = (
    select(ExecutionEvent, Execution)
    .options(*_EXECUTION_WITHOUT_PAYLOADS)
    .from_statement(_FEED_EVENTS)
)


@dataclass(frozen=True, slots=True)
class EventFilter:
    execution_id: uuid.UUID | None = None
    workflow_id: uuid.UUID | None = None

    def matches(self, event: ExecutionEvent) -> bool:
        return (self.execution_id is None or event.execution_id == self.execution_id) and (
            self.workflow_id is None or event.workflow_id == self.workflow_id
        )


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


@asynccontextmanager
async def reading_with_executions(
    db: TenantDb, after: int
) -> AsyncIterator[tuple[list[ExecutionEvent], dict[uuid.UUID, Execution]]]:
    """The tenant's events after position `after`, and their executions, in one statement:
    what a feed reads for all of its subscribers. On PostgreSQL that statement is all (no
    transaction around it); elsewhere the rows are handed over before the reading transaction
    ends, so that its end is not on the way to the subscribers."""
    if db.sessions.engine.dialect.name == "postgresql":
        async with db.statement() as session:
            parameters = {"tenant_id": db.tenant_id, "after": after, "limit": BATCH}
            result = await execute(session, _FEED_READ, parameters)
            # Typed as rows of anything: a textual statement's entities are those selected.
            rows = cast("Sequence[tuple[ExecutionEvent, Execution]]", result.all())
        yield _events_and_executions(rows)
        return
    statement = (
        select(ExecutionEvent, Execution)
        .join(Execution, col(Execution.id) == col(ExecutionEvent.execution_id))
        .where(col(ExecutionEvent.seq) > after)
        .order_by(col(ExecutionEvent.seq))
        .limit(BATCH)
        .options(*_EXECUTION_WITHOUT_PAYLOADS)
    )
    async with db.reader() as session:
        yield _events_and_executions((await session.exec(statement)).all())


def _events_and_executions(
    rows: Sequence[tuple[ExecutionEvent, Execution]],
) -> tuple[list[ExecutionEvent], dict[uuid.UUID, Execution]]:
    return [event for event, _ in rows], {execution.id: execution for _, execution in rows}
