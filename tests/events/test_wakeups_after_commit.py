"""Over Redis a writer sends its transaction's wake-ups itself, once it has committed and the
caches have forgotten what it changed: they have left by the time the transaction block returns
(no task in between to wait a turn for), one message for all of a transaction's, none for a
rollback (events/commit_hook.py)."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator

import pytest
import redis.asyncio as redis

from tenantflow.db.changes import Committed
from tenantflow.db.session import SessionFactory
from tenantflow.events.redis_pubsub import RedisPubSub
from tenantflow.events.wakeups import Kind, Wakeup, decode
from tenantflow.events.wiring import LiveEvents
from tenantflow.settings import Settings
from tests.events.test_wakeups_with_commit import NOOP, settled, write_events
from tests.executor.test_executor import new_tenant, new_workflow, queue
from tests.redis_helpers import REDIS_URL

pytestmark = pytest.mark.postgresql
Heard = list[tuple[str, list[Wakeup]]]


@pytest.fixture
def backend() -> str:
    return "postgresql"


@pytest.fixture
def channel(redis_prefix: str) -> str:
    return f"{redis_prefix}:wakeups"


@pytest.fixture
async def live(channel: str) -> AsyncIterator[LiveEvents]:
    events = LiveEvents(RedisPubSub(REDIS_URL, channel))
    await events.start()
    yield events
    await events.stop()


@pytest.fixture
def steps() -> list[str]:
    return []


@pytest.fixture
def writer(sessions: SessionFactory, live: LiveEvents, steps: list[str]) -> SessionFactory:
    """As the application's: after a commit the caches forget (noted), then wake-ups leave."""

    async def forget(_changes: Committed) -> None:
        steps.append("the caches forgot")

    return SessionFactory(sessions.engine, session_info=live.session_info, on_committed=forget)


@pytest.fixture
def sent(live: LiveEvents, steps: list[str], monkeypatch: pytest.MonkeyPatch) -> Heard:
    """What the broker has sent, noted as soon as Redis took it."""
    transport = live.broker.transport
    assert transport is not None
    noted: Heard = []
    send = transport.send

    async def noting(payload: str) -> None:
        await send(payload)
        noted.append(decode(payload))
        steps.append("sent")

    monkeypatch.setattr(transport, "send", noting)
    return noted


@pytest.fixture
async def heard(channel: str) -> AsyncIterator[Heard]:
    """What another process subscribed to the channel receives."""
    received: Heard = []
    client = redis.Redis.from_url(REDIS_URL)
    pubsub = client.pubsub(ignore_subscribe_messages=True)
    await pubsub.subscribe(channel)

    async def listen() -> None:
        async for message in pubsub.listen():
            if isinstance(message.get("data"), bytes):
                received.append(decode(message["data"].decode()))

    listener = asyncio.create_task(listen())
    yield received
    listener.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await listener
    await pubsub.aclose()  # type: ignore[no-untyped-call]
    await client.aclose()


async def test_the_writer_sends_a_committed_transactions_wake_ups_before_it_returns(
    *,
    sessions: SessionFactory,
    settings: Settings,
    live: LiveEvents,
    writer: SessionFactory,
    steps: list[str],
    sent: Heard,
    heard: Heard,
) -> None:
    actor = await new_tenant(sessions, settings)
    execution_id = await queue(sessions, actor, await new_workflow(sessions, actor, NOOP))
    assert not live.broker.sends_with_commit
    # when a transaction writes three events and fails
    with pytest.raises(RuntimeError):
        await write_events(writer, actor.tenant_id, execution_id, fail=True)
    await settled()
    # then nothing was sent
    assert (steps, heard) == ([], [])
    # when it writes three events and commits
    await write_events(writer, actor.tenant_id, execution_id, fail=False)
    # then one message naming the tenant once (and the work: the run is still queued) was sent
    # after the caches forgot and before the writer went on, and another process receives it
    expected = [(live.broker.origin, [Wakeup(Kind.EVENTS, actor.tenant_id), Wakeup(Kind.WORK)])]
    assert (steps, sent) == (["the caches forgot", "sent"], expected)
    await settled()
    assert heard == expected
