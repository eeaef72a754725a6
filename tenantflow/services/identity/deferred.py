"""Work a sign-in may leave until its answer is sent (the audit row of a failed login).

A wrong password must take as long for a known email as for an unknown one, or the answer's time
tells which emails have accounts; only known ones have an audit row to write. The HTTP layer runs
deferred jobs after the response is sent; elsewhere they run at once.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable

Job = Callable[[], Awaitable[None]]
Defer = Callable[[Job], Awaitable[None]]


async def run_now(job: Job) -> None:
    await job()
