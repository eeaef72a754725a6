"""Running a test's requests at once, without letting any outlive the test."""

from __future__ import annotations

import asyncio
from collections.abc import Coroutine
from typing import Any, TypeVar

T = TypeVar("T")


async def together(*coroutines: Coroutine[Any, Any, T]) -> list[T]:
    """Every coroutine at once; their results in order.

    Unlike `asyncio.gather`, the first failure cancels the others and waits for them: on the
    suite's one event loop, a request left running would go on writing into the next test's
    database (seen: a wipe deadlocking with it, statement counts that included it).
    """
    async with asyncio.TaskGroup() as group:
        tasks = [group.create_task(coroutine) for coroutine in coroutines]
    return [task.result() for task in tasks]
