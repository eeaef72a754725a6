"""Websocket limits that come before GraphQL: connections per client address, and messages above
1 MiB (the contract: the socket is closed with 1009, "message too big").

uvicorn refuses larger frames itself (`ws_max_size`, set by `tenantflow serve`); this holds for
any server and counts a message as the application receives it. Connections over the per-address
cap are closed at once. Every lease a socket takes (its address here, its
tenant at `connection_init`) is given back when it closes (`hold_until_closed`). A socket over
a cap is closed with 4429 and a reason.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Final

from starlette.requests import HTTPConnection
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from tenantflow.observability import metrics
from tenantflow.protection.keys import normalize_address
from tenantflow.protection.sockets import Lease, SocketCapReached
from tenantflow.runtime import Runtime
from tenantflow.web.client_address import Network, client_address

MAX_MESSAGE_BYTES: Final = 1_048_576
MESSAGE_TOO_BIG: Final = 1009
# graphql-transport-ws's "too many": the address or the tenant has as many sockets as it may.
TOO_MANY_CONNECTIONS: Final = 4429
_LEASES: Final = "socket_leases"


async def _close_at_once(scope: Scope, receive: Receive, send: Send, reason: str) -> None:
    """Accept, then close with 4429 and the reason: a client learns why, which a refused
    handshake (a bare 403) would not tell it."""
    await receive()  # websocket.connect
    protocols = scope.get("subprotocols") or []
    accept: Message = {"type": "websocket.accept"}
    if protocols:
        accept["subprotocol"] = protocols[0]
    await send(accept)
    await send({"type": "websocket.close", "code": TOO_MANY_CONNECTIONS, "reason": reason})


def hold_until_closed(connection: HTTPConnection, lease: Lease) -> None:
    """Give `lease` back when the socket of `connection` closes."""
    connection.scope.setdefault("state", {}).setdefault(_LEASES, []).append(lease)


class WebSocketGuardMiddleware:
    def __init__(
        self,
        app: ASGIApp,
        proxies: Sequence[Network] = (),
        max_message_bytes: int = MAX_MESSAGE_BYTES,
    ) -> None:
        self.app = app
        self.proxies = list(proxies)
        self.max_message_bytes = max_message_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        runtime = scope.get("state", {}).get("runtime")
        if scope["type"] != "websocket" or not isinstance(runtime, Runtime):
            await self.app(scope, receive, send)
            return
        address = normalize_address(client_address(HTTPConnection(scope), self.proxies))
        try:
            lease = runtime.sockets.open_connection(address)
        except SocketCapReached as refused:
            await _close_at_once(scope, receive, send, refused.message)
            return
        leases: list[Lease] = [lease]
        scope["state"] = {**scope.get("state", {}), _LEASES: leases}
        too_big = False

        async def limited_receive() -> Message:
            nonlocal too_big
            if too_big:
                return {"type": "websocket.disconnect", "code": MESSAGE_TOO_BIG}
            message = await receive()
            if message["type"] == "websocket.receive" and self._size(message) > (
                self.max_message_bytes
            ):
                too_big = True
                close = {"type": "websocket.close", "code": MESSAGE_TOO_BIG}
                await send({**close, "reason": "message too big"})
                return {"type": "websocket.disconnect", "code": MESSAGE_TOO_BIG}
            return message

        async def guarded_send(message: Message) -> None:
            if too_big:
                return  # closed already: nothing more goes out
            await send(message)

        metrics.WEBSOCKETS_OPEN.inc()
        try:
            await self.app(scope, limited_receive, guarded_send)
        finally:
            metrics.WEBSOCKETS_OPEN.dec()
            for held in leases:
                held.release()

    def _size(self, message: Message) -> int:
        """The message's size in bytes (UTF-8 for text; encoded only when it could be over)."""
        text = message.get("text")
        if text is not None:
            short = len(text) * 4 <= self.max_message_bytes
            return len(text) if short else len(text.encode("utf-8", "surrogatepass"))
        data = message.get("bytes")
        return len(data) if data is not None else 0
