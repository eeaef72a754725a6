"""Apps with settings of a test's own (budgets on, production posture, small caps), and Redis."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Any

import httpx
from asgi_lifespan import LifespanManager
from httpx_ws import AsyncWebSocketSession, aconnect_ws
from httpx_ws.transport import ASGIWebSocketTransport
from starlette.types import ASGIApp

from tenantflow.app import build_app
from tenantflow.runtime import Runtime
from tenantflow.settings import Settings
from tests.api.conftest import GraphQLClient, gql, members  # noqa: F401  (the API tests' fixtures, shared)
from tests.api.websocket import PROTOCOL, GraphQLWebSocket

# A test counting hits against a per-minute budget finishes within this many seconds: it starts
# no later than this before a minute ends, so that its hits fall in one of the budgets' windows.
# (Across a boundary the sliding window weighs the earlier hits down and admits one more.)
WINDOW_MARGIN_SECONDS = 15.0


async def within_one_budget_window() -> None:
    """Waits for the next minute when the current one ends within WINDOW_MARGIN_SECONDS."""
    left = 60.0 - time.time() % 60.0
    if left < WINDOW_MARGIN_SECONDS:
        await asyncio.sleep(left + 0.05)


@dataclass(frozen=True)
class Served:
    app: ASGIApp
    runtime: Runtime


@asynccontextmanager
async def running(settings: Settings, **overrides: Any) -> AsyncIterator[Served]:
    """The app on `settings` with `overrides`, its lifespan running; with budgets of a test's
    own, started where their windows leave it time to count."""
    if "rate_limits" in overrides:
        await within_one_budget_window()
    changed = Settings(**{**settings.model_dump(exclude_unset=True), **overrides})
    async with LifespanManager(build_app(changed)) as manager:
        runtime = manager._state["runtime"]
        assert isinstance(runtime, Runtime)
        yield Served(manager.app, runtime)


@asynccontextmanager
async def client_of(app: ASGIApp, address: str = "203.0.113.10") -> AsyncIterator[GraphQLClient]:
    """A GraphQL client calling from `address`."""
    transport = httpx.ASGITransport(app=app, client=(address, 40000))
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as http:
        yield GraphQLClient(http)


@asynccontextmanager
async def socket_from(
    app: ASGIApp, address: str = "203.0.113.60"
) -> AsyncIterator[GraphQLWebSocket]:
    """A graphql-transport-ws socket to /graphql from `address` (connection_init not sent)."""
    transport = ASGIWebSocketTransport(app=app, client=(address, 40000))
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as http:
        session: AsyncWebSocketSession
        async with aconnect_ws("/graphql", http, subprotocols=[PROTOCOL]) as session:
            yield GraphQLWebSocket(session)
