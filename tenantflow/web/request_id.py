"""X-Request-ID on every response: a sane incoming id is echoed, otherwise a new one is made."""

from __future__ import annotations

import re
import uuid
from contextvars import ContextVar

from starlette.datastructures import MutableHeaders
from starlette.types import ASGIApp, Message, Receive, Scope, Send

HEADER = "x-request-id"
# Printable, short, no spaces: anything else could be log or header injection.
_SANE = re.compile(r"^[A-Za-z0-9._:\-]{1,100}$")

current_request_id: ContextVar[str | None] = ContextVar("current_request_id", default=None)


def choose_request_id(incoming: str | None) -> str:
    if incoming and _SANE.fullmatch(incoming):
        return incoming
    return uuid.uuid4().hex


class RequestIdMiddleware:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] not in ("http", "websocket"):
            await self.app(scope, receive, send)
            return
        incoming = dict(scope["headers"]).get(HEADER.encode())
        request_id = choose_request_id(incoming.decode("latin-1") if incoming else None)
        # A copy: the lifespan's state dict may be shared by concurrent requests (test clients
        # hand the same one to every request), and an id set there would leak into the others.
        scope["state"] = {**scope.get("state", {}), "request_id": request_id}
        token = current_request_id.set(request_id)

        async def send_with_id(message: Message) -> None:
            if message["type"] == "http.response.start":
                MutableHeaders(scope=message)[HEADER] = request_id
            await send(message)

        try:
            await self.app(scope, receive, send_with_id)
        finally:
            current_request_id.reset(token)
