"""Waiting for something to become true, without fixed sleeps."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from typing import TypeVar

T = TypeVar("T")


async def eventually(check: Callable[[], Awaitable[T | None]], seconds: float = 20) -> T:
    """The first truthy result of `check`, polled until `seconds` pass (then the test fails)."""
    deadline = time.monotonic() + seconds
    while True:
        value = await check()
        if value:
            return value
        assert time.monotonic() < deadline, "the condition did not hold in time"
        await asyncio.sleep(0.05)
