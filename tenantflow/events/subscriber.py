"""One subscription's place in its tenant's feed: a bounded queue of the events it wants."""

from __future__ import annotations

import asyncio
import contextlib
import time
import uuid
from collections import deque
from collections.abc import Callable, Coroutine
from enum import Enum
from typing import Any

from tenantflow.events.batch import FeedBatch, FeedEvent
from tenantflow.events.reading import EventFilter

# Events queued for a subscriber that does not take them; one more and it is closed.
QUEUE_SIZE = 1000


class Signal(Enum):
    RECHECK = "recheck"  # access may have been taken away: check the credentials now
    OVERFLOWED = "overflowed"  # the subscriber fell QUEUE_SIZE events behind: it is closed
    TIMEOUT = "timeout"  # nothing happened (time for the periodic re-check)


class Subscriber:
    def __init__(
        self,
        where: EventFilter,
        *,
        user_id: uuid.UUID | None = None,
        on_overflow: Callable[[], Coroutine[Any, Any, None]] | None = None,
        queue_size: int | None = None,
    ) -> None:
        self.where = where
        self.user_id = user_id
        self.on_overflow = on_overflow
        self.queue_size = QUEUE_SIZE if queue_size is None else queue_size
        self.overflowed = False
        self._events: deque[FeedEvent] = deque()
        self._recheck_since: float | None = None  # when a re-check was asked for, if one was
        # When the re-check that `next` returned was asked for (time.monotonic()).
        self.recheck_since = 0.0
        self._signal = asyncio.Event()

    def offer(self, batch: FeedBatch) -> bool:
        """Queue the events of `batch` this subscriber wants; False once it overflowed (drop
        it)."""
        if self.overflowed:
            return False
        wanted = [FeedEvent(row, batch) for row in batch.events if self.where.matches(row)]
        if not wanted:
            return True
        if len(self._events) + len(wanted) > self.queue_size:
            self.overflowed = True
            self._events.clear()  # its memory goes now, not when its socket finally closes
            self._signal.set()
            return False
        self._events.extend(wanted)
        self._signal.set()
        return True

    def ask_recheck(self) -> None:
        if self._recheck_since is None:
            self._recheck_since = time.monotonic()
        self._signal.set()

    async def next(self, seconds: float) -> list[FeedEvent] | Signal:
        """The queued events, or why there are none: waits up to `seconds`."""
        if not (self._events or self._recheck_since is not None or self.overflowed):
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._signal.wait(), seconds)
        self._signal.clear()
        if self.overflowed:
            return Signal.OVERFLOWED
        if self._recheck_since is not None:
            self.recheck_since, self._recheck_since = self._recheck_since, None
            return Signal.RECHECK
        if not self._events:
            return Signal.TIMEOUT
        events = list(self._events)
        self._events.clear()
        return events
