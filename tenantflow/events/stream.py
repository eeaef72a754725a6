"""Following a tenant's events: the subscriber's own backlog first, then the shared feed.

The subscriber joins its tenant's feed before it reads anything, so nothing committed in between
is missed; it reads what the feed had already passed (a replay from a cursor, say) itself; and it
drops every event at or before the last one it delivered, so the handover from its own reads to
the feed has no gap and no duplicate.
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncGenerator, AsyncIterator, Awaitable, Callable, Coroutine
from typing import Any

from tenantflow.db.faults import is_unavailable
from tenantflow.db.models import ExecutionEvent as ExecutionEventRow
from tenantflow.db.session import TenantDb
from tenantflow.events.batch import FeedEvent
from tenantflow.events.feeds import OUTAGE_FIRST_PAUSE_SECONDS, OUTAGE_MAX_PAUSE_SECONDS, Feeds
from tenantflow.events.reading import BATCH, EventFilter, read_after
from tenantflow.events.subscriber import Signal, Subscriber

# `still_allowed(since)`: False once the subscriber lost access. `since` (time.monotonic()) asks
# it not to wait for its periodic re-check: a revocation wake-up came then, so the verdict must
# come from a check started no earlier; None: the periodic re-check.
AccessCheck = Callable[[float | None], Awaitable[bool]]


async def follow(
    feeds: Feeds,
    db: TenantDb,
    after: int | None,
    where: EventFilter,
    *,
    user_id: uuid.UUID | None = None,
    still_allowed: AccessCheck | None = None,
    recheck_seconds: float = 30.0,
    on_overflow: Callable[[], Coroutine[Any, Any, None]] | None = None,
    queue_size: int | None = None,
) -> AsyncGenerator[FeedEvent, None]:
    """Every event after position `after` (None: from now) that `where` wants, in order, then
    each new one as it commits. Ends when `still_allowed` says the subscriber lost access, or
    when it fell so far behind that its queue overflowed (`on_overflow` then closes it)."""
    subscriber = Subscriber(where, user_id=user_id, on_overflow=on_overflow, queue_size=queue_size)
    async with feeds.join(db, subscriber) as feed_position:
        last = feed_position if after is None else after
        if last < feed_position:
            async for row in _backlog(db, last, where):
                last = row.seq
                yield FeedEvent(row)
        while True:
            item = await subscriber.next(recheck_seconds)
            if item is Signal.OVERFLOWED:
                return
            if isinstance(item, Signal):
                since = subscriber.recheck_since if item is Signal.RECHECK else None
                if still_allowed is not None and not await still_allowed(since):
                    return
                continue
            for event in item:
                if event.row.seq > last:
                    last = event.row.seq
                    yield event


async def _backlog(
    db: TenantDb, after: int, where: EventFilter
) -> AsyncIterator[ExecutionEventRow]:
    """The events after `after` as the table has them now; rides out a database outage."""
    pause = OUTAGE_FIRST_PAUSE_SECONDS
    while True:
        try:
            events = await read_after(db, after, where)
        except Exception as error:
            if not is_unavailable(error):
                raise
            await asyncio.sleep(pause)
            pause = min(pause * 2, OUTAGE_MAX_PAUSE_SECONDS)
            continue
        for event in events:
            after = event.seq
            yield event
        if len(events) < BATCH:
            return
