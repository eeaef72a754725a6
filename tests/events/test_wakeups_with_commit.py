"""Over LISTEN/NOTIFY a writer's wake-ups are sent by its own transaction: they leave with its
commit, never with a rollback, one NOTIFY for all of a transaction's (events/commit_hook.py)."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator
from typing import Any

import asyncpg
import pytest

from tenantflow.db.models import Execution
from tenantflow.db.session import SessionFactory
from tenantflow.events.pg_notify import CHANNEL, PgNotify, asyncpg_dsn
from tenantflow.events.record import record_execution_event
from tenantflow.events.wakeups import Kind, Wakeup, decode
from tenantflow.events.wiring import LiveEvents
from tenantflow.settings import Settings
from tests.executor.test_executor import new_tenant, new_workflow, queue

pytestmark = pytest.mark.postgresql
NOOP = {"nodes": [{"id": "a", "type": "noop", "config": {}}], "edges": []}


@pytest.fixture
def backend() -> str:
    return "postgresql"


@pytest.fixture
async def live(settings: Settings) -> AsyncIterator[LiveEvents]:
    events = LiveEvents(PgNotify(asyncpg_dsn(settings.database_url)))
    await events.start()
    yield events
    await events.stop()


@pytest.fixture
async def heard(settings: Settings) -> AsyncIterator[list[tuple[str, list[Wakeup]]]]:
    """What another process listening on the channel receives."""
    received: list[tuple[str, list[Wakeup]]] = []

    def note(_connection: Any, _pid: int, _channel: str, payload: str) -> None:
        received.append(decode(payload))

    connection = await asyncpg.connect(asyncpg_dsn(settings.database_url))
    await connection.add_listener(CHANNEL, note)
    yield received
    await connection.close()


async def settled() -> None:
    await asyncio.sleep(0.3)  # a notification in flight has arrived by now


async def write_events(
    writer: SessionFactory, tenant_id: uuid.UUID, execution_id: uuid.UUID, *, fail: bool
) -> None:
    """Three events of the execution in one transaction, which fails before its commit when
    `fail`."""
    async with writer.tenant_transaction(tenant_id) as session:
        execution = await session.get(Execution, execution_id)
        assert execution is not None
        for _ in range(3):
            await record_execution_event(session, execution=execution)
        if fail:
            raise RuntimeError("the writer fails before its commit")


async def test_a_transaction_sends_its_wake_ups_with_its_commit_not_its_rollback(
    sessions: SessionFactory,
    settings: Settings,
    live: LiveEvents,
    writer: SessionFactory,
    heard: list[tuple[str, list[Wakeup]]],
) -> None:
    actor = await new_tenant(sessions, settings)
    execution_id = await queue(sessions, actor, await new_workflow(sessions, actor, NOOP))
    assert live.broker.sends_with_commit
    # when a transaction writes three events and fails
    with pytest.raises(RuntimeError):
        await write_events(writer, actor.tenant_id, execution_id, fail=True)
    await settled()
    # then nothing was announced
    assert heard == []
    # when it writes three events and commits
    await write_events(writer, actor.tenant_id, execution_id, fail=False)
    await settled()
    # then one notification names the tenant once (and the work: the run is still queued),
    # from this process's broker
    assert heard == [
        (live.broker.origin, [Wakeup(Kind.EVENTS, actor.tenant_id), Wakeup(Kind.WORK)])
    ]


async def test_a_queued_run_announces_its_events_and_the_work_in_one_notification(
    sessions: SessionFactory,
    settings: Settings,
    live: LiveEvents,
    writer: SessionFactory,
    heard: list[tuple[str, list[Wakeup]]],
) -> None:
    actor = await new_tenant(sessions, settings)
    workflow_id = await new_workflow(sessions, actor, NOOP)
    await queue(writer, actor, workflow_id)
    await settled()
    assert heard == [
        (live.broker.origin, [Wakeup(Kind.EVENTS, actor.tenant_id), Wakeup(Kind.WORK)])
    ]
