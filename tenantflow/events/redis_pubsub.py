"""Wake-ups between processes over Redis pub/sub, when TENANTFLOW_REDIS_URL is set.

One subscribed connection per process (redis-py's PubSub) and the client's pool for PUBLISH.
A lost subscription is made again, and the broker resyncs: messages sent meanwhile are gone.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable

import redis.asyncio as redis

log = logging.getLogger(__name__)

RECONNECT_MAX_PAUSE_SECONDS = 10.0
SOCKET_TIMEOUT_SECONDS = 5.0
# Start-up waits this long for the subscription, then goes on (it keeps trying meanwhile).
START_WAIT_SECONDS = 2.0


class RedisPubSub:
    name = "Redis pub/sub"

    def __init__(self, url: str, channel: str) -> None:
        self.channel = channel
        self._client = redis.Redis.from_url(
            url, socket_connect_timeout=SOCKET_TIMEOUT_SECONDS, health_check_interval=30
        )
        self._receive: Callable[[str], None] = lambda _payload: None
        self._resync: Callable[[], None] = lambda: None
        self._listener: asyncio.Task[None] | None = None
        self._first_try = asyncio.Event()  # subscribed, or failed once

    async def start(self, receive: Callable[[str], None], resync: Callable[[], None]) -> None:
        self._receive, self._resync = receive, resync
        self._listener = asyncio.create_task(self._listen(), name="Redis wake-ups")
        # Subscribed before the first request when Redis answers; not held up when it does not.
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._first_try.wait(), START_WAIT_SECONDS)

    async def send(self, payload: str) -> None:
        await self._client.publish(self.channel, payload)

    def commit_statement(self, payload: str) -> None:
        return None  # Redis is not in the database's transaction: sent after the commit

    async def stop(self) -> None:
        if self._listener is not None:
            self._listener.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._listener
        await self._client.aclose()

    async def _listen(self) -> None:
        pause = 0.5
        first = True
        while True:
            pubsub = self._client.pubsub(ignore_subscribe_messages=True)
            try:
                await pubsub.subscribe(self.channel)
                self._first_try.set()
                if not first:
                    log.info("Redis wake-ups subscribed again")
                # Messages sent before this subscription are lost: look again.
                self._resync()
                first, pause = False, 0.5
                async for message in pubsub.listen():
                    data = message.get("data")
                    if isinstance(data, bytes):
                        self._receive(data.decode())
            except (redis.RedisError, OSError) as error:
                log.warning("Redis wake-ups lost, retrying in %.1f s: %s", pause, error)
                self._first_try.set()
                first = False
                await asyncio.sleep(pause)
                pause = min(pause * 2, RECONNECT_MAX_PAUSE_SECONDS)
            finally:
                with contextlib.suppress(Exception):
                    await pubsub.aclose()  # type: ignore[no-untyped-call]
