"""The process's wake-up hub: local fan-out at once, and a transport to the other processes.

`publish` is called after a commit and never waits: the wake-up reaches this process's feeds and
doorbell at once, and is batched for the transport by one sender task (a burst of commits goes
out as one message). A transport that can send as part of the writing transaction (PostgreSQL's
NOTIFY, `commit_statement`) is given the wake-ups before the commit instead, so that they leave
with it; after the commit they are then only delivered here (`deliver_here`). A wake-up that a
transport loses costs latency, never an event: feeds re-read the table on the safety poll, and
executors claim on their own timeout.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import secrets
from collections.abc import Callable
from typing import Any, Protocol

from sqlalchemy.sql.base import Executable

from tenantflow.events.wakeups import Wakeup, decode, encode

log = logging.getLogger(__name__)

# Wake-ups per transport message (each about 40 bytes; PostgreSQL's NOTIFY takes under 8,000).
MAX_BATCH = 150
SEND_TIMEOUT_SECONDS = 5.0

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
        self._pending: dict[Wakeup, None] = {}  # ordered, without repeats
        self._has_pending = asyncio.Event()
        self._sender: asyncio.Task[None] | None = None
        # Whether writers send their wake-ups in their own transactions (`commit_statements`).
        probe = transport.commit_statement(encode(self.origin, [])) if transport else None
        self.sends_with_commit = probe is not None

    def connect(self, deliver: Deliver, resync: Callable[[], None]) -> None:
        """Where wake-ups go in this process, and what to do when some may have been lost."""
        self._deliver = deliver
        self._resync = resync

    async def start(self) -> None:
        if self.transport is None:
            return
        await self.transport.start(self._receive, self._resync)
        self._sender = asyncio.create_task(self._send_pending(), name="event wake-ups sender")

    async def stop(self) -> None:
        if self._sender is not None:
            self._sender.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._sender
            self._sender = None
            await self._send(list(self._pending))  # the last commits' (a hand-back, say)
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

    def publish(self, wakeup: Wakeup) -> None:
        self._deliver(wakeup)
        if self.transport is not None:
            self._pending[wakeup] = None
            self._has_pending.set()

    def deliver_here(self, wakeup: Wakeup) -> None:
        """A wake-up whose transaction sent it to the other processes already."""
        self._deliver(wakeup)

    def _receive(self, payload: str) -> None:
        origin, wakeups = decode(payload)
        if origin == self.origin:
            return  # delivered here when it was published
        for wakeup in wakeups:
            self._deliver(wakeup)

    async def _send_pending(self) -> None:
        while True:
            await self._has_pending.wait()
            self._has_pending.clear()
            batch, self._pending = list(self._pending), {}
            await self._send(batch)

    async def _send(self, batch: list[Wakeup]) -> None:
        assert self.transport is not None
        for start in range(0, len(batch), MAX_BATCH):
            payload = encode(self.origin, batch[start : start + MAX_BATCH])
            try:
                await asyncio.wait_for(self.transport.send(payload), SEND_TIMEOUT_SECONDS)
            except Exception as error:  # the safety poll finds what this would have woken
                log.warning("wake-up not sent (%s): %s", self.transport.name, error)
