"""graphql-transport-ws with every message's shape checked before Strawberry reads it.

Strawberry indexes a message as it comes: a JSON message that is not an object (`[]`, `"x"`), or a
subscribe whose id or payload has the wrong type, raised TypeError inside the handler and closed
the socket with 1011 (an internal error, with a logged traceback). The protocol wants 4400.
"""

from __future__ import annotations

from typing import Any

from strawberry.subscriptions.protocols.graphql_transport_ws.handlers import (
    BaseGraphQLTransportWSHandler,
)

_OPTIONAL_OBJECT = (dict, type(None))
_OPTIONAL_TEXT = (str, type(None))


def well_formed(message: object) -> bool:
    """Whether the fields Strawberry reads have the types the protocol gives them."""
    if not isinstance(message, dict) or not isinstance(message.get("type"), str):
        return False
    if "id" in message and not isinstance(message["id"], str):
        return False
    if message["type"] != "subscribe":
        return True
    payload = message.get("payload")
    return (
        isinstance(message.get("id"), str)
        and isinstance(payload, dict)
        and isinstance(payload.get("query"), str)
        and isinstance(payload.get("variables"), _OPTIONAL_OBJECT)
        and isinstance(payload.get("operationName"), _OPTIONAL_TEXT)
        and isinstance(payload.get("extensions"), _OPTIONAL_OBJECT)
    )


class CheckedTransportWSHandler(BaseGraphQLTransportWSHandler[Any, None]):
    async def handle_message(self, message: Any) -> None:
        if not well_formed(message):
            await self.handle_invalid_message("Failed to parse message")
            return
        await super().handle_message(message)
