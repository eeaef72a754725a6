"""Open subscriptions' credential re-checks, shared by those of a process that hold the same
credentials.

Every open subscription re-checks its credentials periodically (the backstop for changes no
wake-up announced) and at once on a revocation wake-up. Subscriptions of one process presenting
the same credentials (a user's tabs, an integration's sockets) share those checks: a verdict is
taken from a check that started recently enough, or from one in flight, instead of resolving the
credentials once per subscription. "Recently enough" is `reuse_seconds` for the periodic check,
and for a wake-up's check the moment the wake-up came: a verdict from before it may predate the
revocation, so it is never taken. Only identical credentials share a verdict.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from tenantflow.auth.principal import Principal

Resolve = Callable[[str], Awaitable[Principal | None]]
# A periodic re-check takes a verdict this old: with the subscriptions' 30 s period, what they act
# on is at most 45 s old (the contract: closed within 60 s).
REUSE_SECONDS = 15.0
# Beyond this many kept verdicts, those too old to be taken are dropped.
PRUNE_ABOVE = 1_000


@dataclass(frozen=True, slots=True)
class _Check:
    started: float  # time.monotonic() when the resolution began
    verdict: asyncio.Future[Principal | None]


class SharedRechecks:
    def __init__(self, resolve: Resolve, *, reuse_seconds: float = REUSE_SECONDS) -> None:
        self._resolve = resolve
        self.reuse_seconds = reuse_seconds
        self._checks: dict[str, _Check] = {}  # the latest check of each credential

    async def principal(self, authorization: str, *, since: float | None) -> Principal | None:
        """The principal the credentials resolve to, from a check started at or after `since`
        (monotonic; None: the periodic re-check, which takes one up to `reuse_seconds` old)."""
        now = time.monotonic()
        threshold = now - self.reuse_seconds if since is None else since
        check = self._checks.get(authorization)
        if check is None or check.started < threshold:
            check = self._start(authorization, now)
        # Shielded: a subscription that goes away does not end the check the others wait for.
        return await asyncio.shield(check.verdict)

    def _start(self, authorization: str, now: float) -> _Check:
        if len(self._checks) > PRUNE_ABOVE:
            self._prune(now)
        verdict: asyncio.Future[Principal | None] = asyncio.ensure_future(
            self._resolve(authorization)
        )
        check = self._checks[authorization] = _Check(now, verdict)
        # A failed check (the database down, say) is not kept: the next one tries again.
        verdict.add_done_callback(lambda done: self._forget_failed(authorization, check, done))
        return check

    def _forget_failed(
        self, authorization: str, check: _Check, done: asyncio.Future[Principal | None]
    ) -> None:
        if (done.cancelled() or done.exception() is not None) and self._checks.get(
            authorization
        ) is check:
            del self._checks[authorization]

    def _prune(self, now: float) -> None:
        for authorization, check in list(self._checks.items()):
            if check.verdict.done() and check.started < now - self.reuse_seconds:
                del self._checks[authorization]
