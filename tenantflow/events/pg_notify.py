"""Wake-ups between processes over PostgreSQL LISTEN/NOTIFY: one connection per process.

The connection is the process's own (outside the pool: LISTEN holds it for good), made as the
runtime role; it listens. Writers send their wake-ups in their own transaction (a `pg_notify`
just before the commit): PostgreSQL delivers them when, and only if, it commits, with nothing to
wait for in between. Lost, the connection is made again, and the broker resyncs (every feed
reads, every idle executor claims), since notifications sent meanwhile are gone.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable
from typing import Any

import asyncpg
import sqlalchemy as sa
from sqlalchemy.engine import make_url
from sqlalchemy.sql.base import Executable

log = logging.getLogger(__name__)

CHANNEL = "tenantflow_wakeups"
_NOTIFY = sa.text("SELECT pg_notify(:channel, :payload)")
CONNECT_TIMEOUT_SECONDS = 10.0
# Start-up waits this long for the first connection, then goes on (it keeps trying meanwhile).
START_WAIT_SECONDS = 2.0
RECONNECT_MAX_PAUSE_SECONDS = 10.0


def asyncpg_dsn(database_url: str) -> str:
    """The runtime's SQLAlchemy URL as asyncpg takes it."""
    url = make_url(database_url).set(drivername="postgresql")
    return url.render_as_string(hide_password=False)


class PgNotify:
    name = "PostgreSQL LISTEN/NOTIFY"

    def __init__(self, dsn: str) -> None:
        self.dsn = dsn
        self._connection: Any = None  # an asyncpg Connection (asyncpg ships no types)
        self._lost = asyncio.Event()
        self._receive: Callable[[str], None] = lambda _payload: None
        self._resync: Callable[[], None] = lambda: None
        self._keeper: asyncio.Task[None] | None = None
        self._first_try = asyncio.Event()  # connected, or failed once

    async def start(self, receive: Callable[[str], None], resync: Callable[[], None]) -> None:
        self._receive, self._resync = receive, resync
        self._lost.set()
        self._keeper = asyncio.create_task(self._keep_connected(), name="LISTEN connection")
        # Listening before the first request when the database answers; not held up otherwise.
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._first_try.wait(), START_WAIT_SECONDS)

    async def send(self, payload: str) -> None:
        """Outside a transaction (the broker's `publish`); writers use `commit_statement`."""
        connection = self._connection
        if connection is None or connection.is_closed():
            raise ConnectionError("no LISTEN connection")
        await connection.execute("SELECT pg_notify($1, $2)", CHANNEL, payload)

    def commit_statement(self, payload: str) -> tuple[Executable, dict[str, Any]]:
        return _NOTIFY, {"channel": CHANNEL, "payload": payload}

    async def stop(self) -> None:
        if self._keeper is not None:
            self._keeper.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._keeper
        if self._connection is not None:
            with contextlib.suppress(Exception):
                await asyncio.wait_for(self._connection.close(), 2)
            self._connection = None

    async def _connect(self) -> None:
        connection = await asyncpg.connect(
            self.dsn,
            timeout=CONNECT_TIMEOUT_SECONDS,
            server_settings={"application_name": "tenantflow wake-ups"},
        )
        connection.add_termination_listener(lambda _connection: self._lost.set())
        await connection.add_listener(CHANNEL, self._notified)
        self._connection = connection
        self._lost.clear()

    def _notified(self, _connection: object, _pid: int, _channel: str, payload: object) -> None:
        if isinstance(payload, str):
            self._receive(payload)

    async def _keep_connected(self) -> None:
        pause = 0.5
        first = True
        while True:
            await self._lost.wait()
            old, self._connection = self._connection, None
            if old is not None:
                old.terminate()
            try:
                await self._connect()
            except Exception as error:
                log.warning("no LISTEN connection, retrying in %.1f s: %s", pause, error)
                self._first_try.set()
                await asyncio.sleep(pause)
                pause = min(pause * 2, RECONNECT_MAX_PAUSE_SECONDS)
                continue
            self._first_try.set()
            pause = 0.5
            if not first:
                log.info("LISTEN connection made again")
            # Notifications sent before this connection listened are lost: look again.
            self._resync()
            first = False
