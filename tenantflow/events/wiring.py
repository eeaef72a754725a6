"""The live-status machinery of one process, chosen by the settings; the lifespan owns it.

Transport: Redis pub/sub when TENANTFLOW_REDIS_URL is set (the deployment already depends on it,
and it needs no database connection); else PostgreSQL LISTEN/NOTIFY on one connection per process;
on SQLite (one process) nothing leaves the process. Behind pgbouncer in transaction mode LISTEN
cannot work, so without Redis other processes' changes are found by the safety poll only.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging

from tenantflow.events.broker import Broker, Transport
from tenantflow.events.commit_hook import session_info
from tenantflow.events.doorbell import Doorbell
from tenantflow.events.feeds import Feeds
from tenantflow.events.pg_notify import PgNotify, asyncpg_dsn
from tenantflow.events.redis_pubsub import RedisPubSub
from tenantflow.events.wakeups import Kind, Wakeup
from tenantflow.settings import Pooler, Settings

log = logging.getLogger(__name__)

# Every feed of the process reads this often even without a wake-up: a lost one costs at most
# this much delay, never an event.
SAFETY_POLL_SECONDS = 5.0


def choose_transport(settings: Settings) -> Transport | None:
    if settings.redis_url is not None:
        return RedisPubSub(settings.redis_url, f"{settings.redis_key_prefix}:wakeups")
    if settings.is_postgresql and settings.database_pooler is Pooler.NONE:
        return PgNotify(asyncpg_dsn(settings.database_url))
    if settings.is_postgresql:
        log.warning(
            "no wake-ups across processes behind a transaction pooler without Redis:"
            " other processes' events arrive within %.0f s (the safety poll)",
            SAFETY_POLL_SECONDS,
        )
    return None


class LiveEvents:
    def __init__(
        self, transport: Transport | None, *, safety_poll_seconds: float = SAFETY_POLL_SECONDS
    ) -> None:
        self.broker = Broker(transport)
        self.feeds = Feeds()
        self.doorbell = Doorbell()
        self.safety_poll_seconds = safety_poll_seconds
        self.broker.connect(self._deliver, self._resync)
        self._poll: asyncio.Task[None] | None = None

    @classmethod
    def of(cls, settings: Settings) -> LiveEvents:
        return cls(
            choose_transport(settings), safety_poll_seconds=settings.live_safety_poll_seconds
        )

    @property
    def session_info(self) -> dict[str, object]:
        """For SessionFactory: commits announce their wake-ups to this process's broker."""
        return session_info(self.broker)

    @property
    def transport_name(self) -> str:
        return self.broker.transport.name if self.broker.transport else "in-process"

    async def start(self) -> None:
        await self.broker.start()
        self._poll = asyncio.create_task(self._safety_poll(), name="event safety poll")

    async def stop(self) -> None:
        if self._poll is not None:
            self._poll.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._poll
        await self.broker.stop()
        await self.feeds.close()

    def _deliver(self, wakeup: Wakeup) -> None:
        if wakeup.kind is Kind.WORK:
            self.doorbell.ring()
        elif wakeup.subject is None:
            return
        elif wakeup.kind is Kind.EVENTS:
            self.feeds.wake(wakeup.subject)
        elif wakeup.kind is Kind.ACCESS:
            self.feeds.recheck(wakeup.subject)
        elif wakeup.kind is Kind.USER:
            self.feeds.recheck_user(wakeup.subject)

    def _resync(self) -> None:
        self.feeds.wake_all()
        self.doorbell.ring()

    async def _safety_poll(self) -> None:
        while True:
            await asyncio.sleep(self.safety_poll_seconds)
            self.feeds.wake_all()
