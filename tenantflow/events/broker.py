"""Wake-ups for subscribers when a transaction that wrote execution events commits."""

from __future__ import annotations

import asyncio
import contextlib
import uuid
from collections import defaultdict
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager


class Wakeups:
    """One subscriber's wake-up signal."""

    def __init__(self) -> None:
        self._event = asyncio.Event()

    def notify(self) -> None:
        self._event.set()

    async def wait(self, seconds: float) -> None:
        """Until notified or `seconds` pass (then the subscriber polls anyway)."""
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._event.wait(), seconds)
        self._event.clear()


class LocalBroker:
    """In-process fan-out by tenant."""

    def __init__(self) -> None:
        self._listeners: dict[uuid.UUID, set[Wakeups]] = defaultdict(set)

    def publish(self, tenant_id: uuid.UUID) -> None:
        for wakeups in list(self._listeners.get(tenant_id, ())):
            wakeups.notify()

    @asynccontextmanager
    async def listen(self, tenant_id: uuid.UUID) -> AsyncIterator[Wakeups]:
        wakeups = Wakeups()
        self._listeners[tenant_id].add(wakeups)
        try:
            yield wakeups
        finally:
            listeners = self._listeners[tenant_id]
            listeners.discard(wakeups)
            if not listeners:
                del self._listeners[tenant_id]
