"""The probe's client: GraphQL over HTTP and graphql-transport-ws, in-process (ASGI) or to a URL."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from typing import Any

import httpx
from httpx_ws import AsyncWebSocketSession, WebSocketDisconnect, aconnect_ws
from httpx_ws.transport import ASGIWebSocketTransport
from starlette.types import ASGIApp

PROTOCOL = "graphql-transport-ws"
Body = dict[str, Any]


class Api:
    """Posts operations to one application, in-process (`app`) or at `url` (a running server);
    `stream` runs one subscription over a websocket."""

    def __init__(self, app: ASGIApp | None = None, *, url: str | None = None) -> None:
        assert (app is None) != (url is None), "an application or a URL"
        self.app = app
        self.url = url.rstrip("/") if url else "http://probe"
        transport = httpx.ASGITransport(app=app) if app is not None else None
        self._http = httpx.AsyncClient(transport=transport, base_url=self.url, timeout=30)

    async def aclose(self) -> None:
        await self._http.aclose()

    async def post(
        self, query: str, variables: dict[str, Any] | None = None, *, token: str | None = None
    ) -> tuple[int, Body]:
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        response = await self._http.post(
            "/graphql", json={"query": query, "variables": variables or {}}, headers=headers
        )
        try:
            body: Body = response.json()
        except ValueError:
            body = {"text": response.text}
        return response.status_code, body

    @asynccontextmanager
    async def socket(self, token: str | None) -> AsyncIterator[AsyncWebSocketSession]:
        """A graphql-transport-ws socket, connection_init sent with `token` and acknowledged."""
        transport = ASGIWebSocketTransport(app=self.app) if self.app is not None else None
        async with httpx.AsyncClient(transport=transport, base_url=self.url) as http:
            session: AsyncWebSocketSession
            async with aconnect_ws("/graphql", http, subprotocols=[PROTOCOL]) as session:
                payload = {"authorization": f"Bearer {token}"} if token else {}
                await session.send_json({"type": "connection_init", "payload": payload})
                await session.receive_json(timeout=10)
                yield session

    async def stream(
        self,
        query: str,
        variables: dict[str, Any],
        *,
        token: str,
        meanwhile: Callable[[], Awaitable[object]],
        window: float,
    ) -> list[Body]:
        """The messages of one subscription while `meanwhile` runs and for `window` seconds after
        (or until it completes or errs), ending with a `closed` entry if the socket closed."""
        messages: list[Body] = []
        operation = "1"  # one socket per stream: the same id every time, so answers compare
        async with self.socket(token) as session:
            await session.send_json(
                {
                    "id": operation,
                    "type": "subscribe",
                    "payload": {"query": query, "variables": variables},
                }
            )
            await meanwhile()
            deadline = asyncio.get_running_loop().time() + window
            try:
                while (left := deadline - asyncio.get_running_loop().time()) > 0:
                    try:
                        message: Body = await session.receive_json(timeout=left)
                    except TimeoutError:
                        break
                    messages.append(message)
                    if message.get("type") in ("complete", "error"):
                        break
            except WebSocketDisconnect as closed:
                messages.append({"closed": closed.code})
        return messages

    async def init_answer(self, token: str | None) -> int | None:
        """How the server answers connection_init with `token`: None when acknowledged, else
        the code it closed the socket with."""
        try:
            async with self.socket(token):
                return None
        except (WebSocketDisconnect, ExceptionGroup) as error:
            code = close_code(error)
            if code is None:
                raise
            return code


def close_code(error: BaseException) -> int | None:
    """The close code of a disconnect, found inside exception groups (the transport's tasks)."""
    if isinstance(error, WebSocketDisconnect):
        return error.code
    if isinstance(error, BaseExceptionGroup):
        for inner in error.exceptions:
            code = close_code(inner)
            if code is not None:
                return code
    return None
