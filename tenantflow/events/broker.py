"""The process's wake-up hub: delivery in this process, and a transport to the other processes.

Writers hand a transaction's wake-ups over with the transaction (`commit_hook.py`). A transport
that can send as part of the writing transaction (PostgreSQL's NOTIFY, `commit_statement`) is
given them before the commit, so that they leave with it; any other (Redis) gets them from the
writer itself right after the commit (`send`), with no task in between. In this process they are
delivered after the commit (`deliver_here`). A wake-up that a transport loses costs latency,
never an event: feeds re-read the table on the safety poll, and executors claim on their own
timeout.
"""

from __future__ import annotations

import asyncio
import logging
import secrets
from collections.abc import Callable
from typing import Any, Protocol

from sqlalchemy.sql.base import Executable

from tenantflow.events.wakeups import Wakeup, decode, encode

log = logging.getLogger(__name__)

# Wake-ups per transport message (each about 40 bytes; PostgreSQL's NOTIFY takes under 8,000).
MAX_BATCH = 150
# The writer waits for `send` before it answers: a transport that hangs costs it this at most.
SEND_TIMEOUT_SECONDS = 0.5

Deliver = Callable[[Wakeup], None]


class Transport(Protocol):
    """Carries payloads between the processes of one deployment (every process, itself too)."""

    name: str

    async def start(self, receive: Callable[[str], None], resync: Callable[[], None]) -> None:
        """Begin listening; `resync` is called after a reconnection (wake-ups may be lost)."""

    async def send(self, payload: str) -> None: ...

    def commit_statement(self, payload: str) -> tuple[Executable, dict[str, Any]] | None:
        """A statement that sends `payload` when the transaction it runs in commits; None when
        the transport cannot (its payloads are sent after the commit)."""

    async def stop(self) -> None: ...


class Broker:
    def __init__(self, transport: Transport | None) -> None:
        self.transport = transport
        # Tells this process's own messages apart when the transport echoes them back.
        self.origin = secrets.token_hex(6)
        self._deliver: Deliver = lambda _wakeup: None
        self._resync: Callable[[], None] = lambda: None
        # Whether writers send their wake-ups in their own transactions (`commit_statements`).
        probe = transport.commit_statement(encode(self.origin, [])) if transport else None
        self.sends_with_commit = probe is not None

    def connect(self, deliver: Deliver, resync: Callable[[], None]) -> None:
        """Where wake-ups go in this process, and what to do when some may have been lost."""
        self._deliver = deliver
        self._resync = resync

    async def start(self) -> None:
        if self.transport is not None:
            await self.transport.start(self._receive, self._resync)

    async def stop(self) -> None:
        if self.transport is not None:
            await self.transport.stop()

    def commit_statements(self, wakeups: list[Wakeup]) -> list[tuple[Executable, dict[str, Any]]]:
        """The statements that send `wakeups` to the other processes with the commit of the
        transaction they run in (`sends_with_commit`)."""
        assert self.transport is not None
        statements = []
        for start in range(0, len(wakeups), MAX_BATCH):
            statement = self.transport.commit_statement(
                encode(self.origin, wakeups[start : start + MAX_BATCH])
            )
            assert statement is not None
            statements.append(statement)
        return statements

    async def send(self, wakeups: list[Wakeup]) -> None:
        """Send `wakeups` to the other processes now (a transport without `commit_statement`,
        after the commit); a failure is logged, never raised (the writer has committed)."""
        assert self.transport is not None
        for start in range(0, len(wakeups), MAX_BATCH):
            payload = encode(self.origin, wakeups[start : start + MAX_BATCH])
            try:
                # asyncio.timeout, not wait_for: no task of its own, so no turn of the loop.
                async with asyncio.timeout(SEND_TIMEOUT_SECONDS):
                    await self.transport.send(payload)
            except Exception as error:  # the safety poll finds what this would have woken
                log.warning("wake-up not sent (%s): %s", self.transport.name, error)

    def deliver_here(self, wakeup: Wakeup) -> None:
        """A committed transaction's wake-up, to this process's feeds and doorbell."""
        self._deliver(wakeup)

    def _receive(self, payload: str) -> None:
        origin, wakeups = decode(payload)
        if origin == self.origin:
            return  # delivered here after its commit
        for wakeup in wakeups:
            self._deliver(wakeup)
