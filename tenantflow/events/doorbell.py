"""The executor's doorbell: rung when work may be claimable, so idle workers need not poll."""

from __future__ import annotations

import asyncio
import contextlib
from collections import deque


class Doorbell:
    """Each ring wakes one idle worker; `rung` counts rings, so a worker that read it before
    claiming and found nothing sees a ring that came meanwhile and claims again at once."""

    def __init__(self) -> None:
        self.rung = 0
        self._waiters: deque[asyncio.Future[None]] = deque()

    def ring(self) -> None:
        self.rung += 1
        while self._waiters:
            waiter = self._waiters.popleft()
            if not waiter.done():
                waiter.set_result(None)
                return

    def wake_all(self) -> None:
        while self._waiters:
            waiter = self._waiters.popleft()
            if not waiter.done():
                waiter.set_result(None)

    async def wait(self, seen: int, seconds: float) -> None:
        """Until a ring after `seen`, `wake_all`, or `seconds` (the safety net) pass."""
        if self.rung != seen:
            return
        waiter = asyncio.get_running_loop().create_future()
        self._waiters.append(waiter)
        try:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(waiter, seconds)
        finally:
            with contextlib.suppress(ValueError):
                self._waiters.remove(waiter)
