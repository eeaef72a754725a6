"""The shared per-tenant feeds: one read per tenant per wake-up, per-tenant fan-out, bounded queues.

Subscribers here follow the stream the way the subscriptions do (`events.stream.follow`), on a
process's own wake-ups (LiveEvents without a transport, and no safety poll: only commits wake).
"""

from __future__ import annotations

import asyncio
import contextlib
import uuid
from collections.abc import AsyncIterator, Iterator
from typing import Any

import pytest
from sqlalchemy import event

from tenantflow.db.models import ExecutionEvent
from tenantflow.db.session import SessionFactory
from tenantflow.events.reading import EventFilter
from tenantflow.events.stream import follow
from tenantflow.events.wiring import LiveEvents
from tenantflow.services.actor import Actor
from tenantflow.settings import Settings
from tests.concurrency import together
from tests.executor.test_executor import new_tenant, new_workflow, queue

NOOP = {"nodes": [{"id": "a", "type": "noop", "config": {}}], "edges": []}
WAIT_SECONDS = 5.0


@pytest.fixture
async def live() -> AsyncIterator[LiveEvents]:
    events = LiveEvents(None)
    yield events
    await events.stop()


class Follower:
    """One subscriber, taking every event as it comes (or, `reading=False`, never after the
    first)."""

    def __init__(
        self,
        live: LiveEvents,
        sessions: SessionFactory,
        tenant_id: uuid.UUID,
        where: EventFilter | None = None,
        *,
        queue_size: int | None = None,
    ) -> None:
        self.tenant_id = tenant_id
        self.events: list[ExecutionEvent] = []
        self.overflowed = asyncio.Event()
        self.stream = follow(
            live.feeds,
            sessions.for_tenant(tenant_id),
            None,
            where or EventFilter(),
            on_overflow=self._overflowed,
            queue_size=queue_size,
        )
        self.task: asyncio.Task[None] | None = None

    async def _overflowed(self) -> None:
        self.overflowed.set()

    def read(self) -> Follower:
        self.task = asyncio.create_task(self._read())
        return self

    async def _read(self) -> None:
        async for delivered in self.stream:
            self.events.append(delivered.row)

    async def close(self) -> None:
        if self.task is not None:
            self.task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self.task
        await self.stream.aclose()


async def eventually(condition: Any, seconds: float = WAIT_SECONDS) -> None:
    deadline = asyncio.get_running_loop().time() + seconds
    while not condition():
        assert asyncio.get_running_loop().time() < deadline, "timed out"
        await asyncio.sleep(0.01)


async def joined(live: LiveEvents, tenant_id: uuid.UUID, count: int) -> None:
    """Until `count` subscribers of the tenant are in its feed and it is ready."""
    await eventually(lambda: len(getattr(live.feeds.feed(tenant_id), "subscribers", ())) == count)
    feed = live.feeds.feed(tenant_id)
    assert feed is not None
    await feed.ready()
    await asyncio.sleep(0.05)  # each subscriber past its join


@contextlib.contextmanager
def counting_event_reads(sessions: SessionFactory) -> Iterator[list[str]]:
    """The statements that read the event stream in order (the feeds' and backlogs' reads; on
    PostgreSQL a feed reads through tf_feed_events)."""
    seen: list[str] = []

    def note(_conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
        in_order = (
            "FROM execution_events" in statement and "ORDER BY execution_events.seq" in statement
        )
        if in_order or "tf_feed_events(" in statement:
            seen.append(statement)

    engine = sessions.engine.sync_engine
    event.listen(engine, "before_cursor_execute", note)
    try:
        yield seen
    finally:
        event.remove(engine, "before_cursor_execute", note)


async def test_one_read_per_tenant_per_wake_up_whatever_the_number_of_subscribers(
    live: LiveEvents, writer: SessionFactory, settings: Settings
) -> None:
    # given 30 subscribers of tenant A (some of one workflow, some of another) and 5 of B
    a: Actor = await new_tenant(writer, settings)
    b: Actor = await new_tenant(writer, settings)
    flow = await new_workflow(writer, a, NOOP)
    other_flow = await new_workflow(writer, a, NOOP)
    b_flow = await new_workflow(writer, b, NOOP)
    everything = [Follower(live, writer, a.tenant_id).read() for _ in range(20)]
    of_flow = [Follower(live, writer, a.tenant_id, EventFilter(workflow_id=flow)).read()]
    of_other = [
        Follower(live, writer, a.tenant_id, EventFilter(workflow_id=other_flow)).read()
        for _ in range(9)
    ]
    of_b = [Follower(live, writer, b.tenant_id).read() for _ in range(5)]
    await joined(live, a.tenant_id, 30)
    await joined(live, b.tenant_id, 5)
    try:
        with counting_event_reads(writer) as reads:
            # when one run of A's is queued
            first = await queue(writer, a, flow)
            await eventually(lambda: all(f.events for f in everything + of_flow))
            await asyncio.sleep(0.2)  # time for any read that should not happen
            # then one read served all 30 (and B's feed did not read)
            assert len(reads) == 1
            assert all([e.execution_id for e in f.events] == [first] for f in everything)
            assert [e.execution_id for e in of_flow[0].events] == [first]
            assert not any(f.events for f in of_other + of_b)
            # and three more runs cost at most one read each, not one per subscriber
            more = [await queue(writer, a, flow) for _ in range(3)]
            await eventually(lambda: all(len(f.events) == 4 for f in everything))
            assert 2 <= len(reads) <= 4
            assert all([e.execution_id for e in f.events] == [first, *more] for f in everything)
        # while B's subscribers see B's run only
        b_run = await queue(writer, b, b_flow)
        await eventually(lambda: all(f.events for f in of_b))
        assert all([e.execution_id for e in f.events] == [b_run] for f in of_b)
        assert all(len(f.events) == 4 for f in everything)
    finally:
        for follower in everything + of_flow + of_other + of_b:
            await follower.close()


async def test_a_tenants_feed_never_hands_over_another_tenants_events(
    live: LiveEvents, writer: SessionFactory, settings: Settings
) -> None:
    # given subscribers of A and of B, both tenants busy at once
    a = await new_tenant(writer, settings)
    b = await new_tenant(writer, settings)
    a_flow = await new_workflow(writer, a, NOOP)
    b_flow = await new_workflow(writer, b, NOOP)
    # B's subscriber filters by A's workflow id: still nothing of A's may reach it
    a_followers = [Follower(live, writer, a.tenant_id).read() for _ in range(3)]
    b_followers = [
        Follower(live, writer, b.tenant_id).read(),
        Follower(live, writer, b.tenant_id, EventFilter(workflow_id=a_flow)).read(),
    ]
    await joined(live, a.tenant_id, 3)
    await joined(live, b.tenant_id, 2)
    try:
        # when both run, interleaved and concurrently
        runs = await together(
            *(
                queue(writer, tenant, flow)
                for _ in range(4)
                for tenant, flow in ((a, a_flow), (b, b_flow))
            )
        )
        a_runs, b_runs = set(runs[0::2]), set(runs[1::2])
        await eventually(
            lambda: all(len(f.events) == 4 for f in a_followers) and len(b_followers[0].events) == 4
        )
        await asyncio.sleep(0.2)
        # then each got exactly its own tenant's events, in stream order
        for follower in a_followers:
            assert {e.execution_id for e in follower.events} == a_runs
            assert {e.tenant_id for e in follower.events} == {a.tenant_id}
            seqs = [e.seq for e in follower.events]
            assert seqs == sorted(set(seqs))
        assert {e.execution_id for e in b_followers[0].events} == b_runs
        assert b_followers[1].events == []
    finally:
        for follower in a_followers + b_followers:
            await follower.close()


async def test_a_subscriber_that_never_reads_is_closed_and_the_others_get_everything(
    live: LiveEvents, writer: SessionFactory, settings: Settings
) -> None:
    # given a subscriber that takes its first event and then no more (its queue holds 3)
    tenant = await new_tenant(writer, settings)
    flow = await new_workflow(writer, tenant, NOOP)
    stuck = Follower(live, writer, tenant.tenant_id, queue_size=3)
    first_of_stuck = asyncio.ensure_future(anext(stuck.stream))
    reader = Follower(live, writer, tenant.tenant_id).read()
    await joined(live, tenant.tenant_id, 2)
    try:
        runs = [await queue(writer, tenant, flow)]
        first = await asyncio.wait_for(first_of_stuck, WAIT_SECONDS)
        assert first.row.execution_id == runs[0]
        # when six more events come than it takes
        runs += [await queue(writer, tenant, flow) for _ in range(6)]
        await eventually(lambda: len(reader.events) == 7)
        # then it was closed (once) and dropped from the feed; its stream ends
        assert stuck.overflowed.is_set()
        feed = live.feeds.feed(tenant.tenant_id)
        assert feed is not None
        assert len(feed.subscribers) == 1
        with pytest.raises(StopAsyncIteration):
            await anext(stuck.stream)
        # while the reading subscriber got every event, in order, and was not closed
        assert [e.execution_id for e in reader.events] == runs
        assert not reader.overflowed.is_set()
        more = await queue(writer, tenant, flow)
        await eventually(lambda: len(reader.events) == 8)
        assert reader.events[-1].execution_id == more
    finally:
        await stuck.close()
        await reader.close()
