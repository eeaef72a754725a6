"""One feed per tenant per process, shared by that process's subscribers of the tenant.

On a wake-up the feed reads the tenant's new events once (after its position), then hands them
to each subscriber, which keeps those its filter wants. The database work is therefore one read
per tenant per wake-up, whatever the number of subscribers; wake-ups that arrive while a read is
in flight are answered by one more read, not one each.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from typing import TypeVar

from tenantflow.db.faults import is_unavailable
from tenantflow.db.session import TenantDb
from tenantflow.events.batch import FeedBatch
from tenantflow.events.reading import BATCH, reading_with_executions, stream_position
from tenantflow.events.subscriber import Subscriber

log = logging.getLogger(__name__)

# While the database cannot serve, a feed tries again after growing pauses up to this.
OUTAGE_FIRST_PAUSE_SECONDS = 1.0
OUTAGE_MAX_PAUSE_SECONDS = 5.0
T = TypeVar("T")


class TenantFeed:
    def __init__(self, db: TenantDb) -> None:
        self.db = db
        self.subscribers: set[Subscriber] = set()
        self.position = 0  # the last event read; set before anyone joins
        self._wake = asyncio.Event()
        self._ready = asyncio.Event()
        self._task = asyncio.create_task(self._run(), name=f"event feed {db.tenant_id}")
        self._closing: set[asyncio.Task[None]] = set()

    def wake(self) -> None:
        self._wake.set()

    async def ready(self) -> None:
        await self._ready.wait()

    def stop(self) -> asyncio.Task[None]:
        self._task.cancel()
        return self._task

    async def _run(self) -> None:
        while not self._ready.is_set():
            try:
                self.position = await self._retrying(lambda: stream_position(self.db))
            except Exception:  # a bug, not an outage: subscribers wait, the feed tries again
                log.exception("tenant %s: reading the stream's position failed", self.db.tenant_id)
                await asyncio.sleep(OUTAGE_MAX_PAUSE_SECONDS)
                continue
            self._ready.set()
        while True:
            await self._wake.wait()
            self._wake.clear()
            try:
                await self._retrying(self._catch_up)
            except Exception:  # a bug, not an outage: keep the feed (the next wake-up retries)
                log.exception("tenant %s: reading new events failed", self.db.tenant_id)
                await asyncio.sleep(OUTAGE_MAX_PAUSE_SECONDS)

    async def _catch_up(self) -> None:
        while True:
            async with reading_with_executions(self.db, self.position) as (events, executions):
                if not events:
                    return
                # No await from here to the position: a subscriber joining meanwhile is told
                # the position of the last event it was not given.
                batch = FeedBatch(events, executions)
                for subscriber in list(self.subscribers):
                    if not subscriber.offer(batch):
                        self._drop_overflowed(subscriber)
                self.position = events[-1].seq
            if len(events) < BATCH:
                return

    def _drop_overflowed(self, subscriber: Subscriber) -> None:
        self.subscribers.discard(subscriber)
        log.warning("tenant %s: a subscriber fell behind and is closed", self.db.tenant_id)
        if subscriber.on_overflow is not None:
            # Not awaited: closing a socket whose client does not read may take a while.
            task = asyncio.create_task(subscriber.on_overflow())
            self._closing.add(task)
            task.add_done_callback(self._closing.discard)

    async def _retrying(self, read: Callable[[], Awaitable[T]]) -> T:
        """`read()`, again after growing pauses while the database cannot serve."""
        pause = OUTAGE_FIRST_PAUSE_SECONDS
        while True:
            try:
                return await read()
            except Exception as error:
                if not is_unavailable(error):
                    raise
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), pause)
            pause = min(pause * 2, OUTAGE_MAX_PAUSE_SECONDS)


class Feeds:
    """This process's feeds, by tenant; a feed lives while it has subscribers."""

    def __init__(self) -> None:
        self._feeds: dict[uuid.UUID, TenantFeed] = {}

    @asynccontextmanager
    async def join(self, db: TenantDb, subscriber: Subscriber) -> AsyncIterator[int]:
        """Subscribe to the tenant's feed; yields the position after which the feed hands the
        subscriber every event (what came before is the subscriber's to read)."""
        feed = self._feeds.get(db.tenant_id)
        if feed is None:
            # Its own handle: short reads, whoever the first subscriber was.
            feed = self._feeds[db.tenant_id] = TenantFeed(db.sessions.for_tenant(db.tenant_id))
        feed.subscribers.add(subscriber)
        try:
            await feed.ready()
            yield feed.position
        finally:
            feed.subscribers.discard(subscriber)
            if not feed.subscribers and self._feeds.get(db.tenant_id) is feed:
                del self._feeds[db.tenant_id]
                feed.stop()

    def feed(self, tenant_id: uuid.UUID) -> TenantFeed | None:
        return self._feeds.get(tenant_id)

    def wake(self, tenant_id: uuid.UUID) -> None:
        feed = self._feeds.get(tenant_id)
        if feed is not None:
            feed.wake()

    def wake_all(self) -> None:
        for feed in list(self._feeds.values()):
            feed.wake()

    def recheck(self, tenant_id: uuid.UUID) -> None:
        feed = self._feeds.get(tenant_id)
        for subscriber in list(feed.subscribers if feed else ()):
            subscriber.ask_recheck()

    def recheck_user(self, user_id: uuid.UUID) -> None:
        for feed in list(self._feeds.values()):
            for subscriber in list(feed.subscribers):
                if subscriber.user_id == user_id:
                    subscriber.ask_recheck()

    async def close(self) -> None:
        feeds, self._feeds = list(self._feeds.values()), {}
        tasks = [feed.stop() for feed in feeds]
        await asyncio.gather(*tasks, return_exceptions=True)
