"""A graphql-transport-ws client for tests, in-process against the application instance."""

from __future__ import annotations

import itertools
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import httpx
from httpx_ws import AsyncWebSocketSession, aconnect_ws
from httpx_ws.transport import ASGIWebSocketTransport
from starlette.types import ASGIApp

PROTOCOL = "graphql-transport-ws"


class GraphQLWebSocket:
    def __init__(self, socket: AsyncWebSocketSession) -> None:
        self.socket = socket
        self._ids = itertools.count(1)

    async def init(self, token: str | None, *, key: str = "authorization") -> dict[str, Any]:
        """connection_init with the token under `key` (GraphiQL sends `Authorization`)."""
        payload = {key: f"Bearer {token}"} if token else {}
        await self.socket.send_json({"type": "connection_init", "payload": payload})
        return await self.receive()

    async def subscribe(self, query: str, variables: dict[str, Any] | None = None) -> str:
        operation_id = str(next(self._ids))
        await self.socket.send_json(
            {
                "id": operation_id,
                "type": "subscribe",
                "payload": {"query": query, "variables": variables or {}},
            }
        )
        return operation_id

    async def receive(self, seconds: float = 5.0) -> dict[str, Any]:
        message: dict[str, Any] = await self.socket.receive_json(timeout=seconds)
        return message

    async def next_data(self, seconds: float = 5.0) -> dict[str, Any]:
        """The data of the next `next` message (fails on anything else)."""
        message = await self.receive(seconds)
        assert message["type"] == "next", message
        assert "errors" not in message["payload"], message
        data: dict[str, Any] = message["payload"]["data"]
        return data


@asynccontextmanager
async def graphql_ws(app: ASGIApp) -> AsyncIterator[GraphQLWebSocket]:
    """Open a websocket to /graphql; the caller sends connection_init (see `init`)."""
    transport = ASGIWebSocketTransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as http:
        session: AsyncWebSocketSession
        async with aconnect_ws("/graphql", http, subprotocols=[PROTOCOL]) as session:
            yield GraphQLWebSocket(session)
