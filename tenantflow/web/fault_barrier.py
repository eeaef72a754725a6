"""The last line: an exception that escapes the application still gets a GraphQL-shaped answer.

Starlette's own fallback answers `500 Internal Server Error` as text. Here a database that cannot
serve (`db.faults.is_unavailable`) answers 503 with Retry-After and `SERVICE_UNAVAILABLE`, anything
else 500 with `INTERNAL_SERVER_ERROR`, both as JSON with no internals. Errors the GraphQL view
handles itself never reach this; it is for what fails around it (middleware, routes, lifespan
state) or in ways nobody planned for.
"""

from __future__ import annotations

import logging

import orjson
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from tenantflow.db.faults import describe, is_unavailable
from tenantflow.errors import (
    UNAVAILABLE_MESSAGE,
    UNAVAILABLE_RETRY_AFTER_SECONDS,
    ErrorCode,
)

log = logging.getLogger("tenantflow.errors")


def error_body(message: str, code: ErrorCode) -> bytes:
    return orjson.dumps({"errors": [{"message": message, "extensions": {"code": code.value}}]})


class FaultBarrierMiddleware:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = False

        async def tracking_send(message: Message) -> None:
            nonlocal started
            if message["type"] == "http.response.start":
                started = True
            await send(message)

        try:
            await self.app(scope, receive, tracking_send)
        except Exception as error:
            if started:  # too late to answer: let the server close the connection
                raise
            await self._answer(error, send)

    @staticmethod
    async def _answer(error: Exception, send: Send) -> None:
        headers = [(b"content-type", b"application/json; charset=utf-8")]
        if is_unavailable(error):
            log.warning("database unavailable: %s", describe(error))
            status, body = 503, error_body(UNAVAILABLE_MESSAGE, ErrorCode.SERVICE_UNAVAILABLE)
            headers.append((b"retry-after", str(UNAVAILABLE_RETRY_AFTER_SECONDS).encode()))
        else:
            log.error("unexpected error outside GraphQL", exc_info=error)
            status, body = 500, error_body("Internal server error", ErrorCode.INTERNAL_SERVER_ERROR)
        await send({"type": "http.response.start", "status": status, "headers": headers})
        await send({"type": "http.response.body", "body": body})
