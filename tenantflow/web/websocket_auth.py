"""The GraphQL view of this application: authenticates websockets at connection_init."""

from __future__ import annotations

import logging

from starlette.websockets import WebSocket
from strawberry.exceptions import ConnectionRejectionError
from strawberry.http.exceptions import WebSocketDisconnected
from strawberry.types.unset import UNSET, UnsetType

from tenantflow.context import Context, Viewpoint
from tenantflow.db.faults import describe, is_unavailable
from tenantflow.protection.sockets import SocketCapReached
from tenantflow.services.identity.credentials import connection_authorization
from tenantflow.web.graphql_view import GraphQLView
from tenantflow.web.websocket_guard import TOO_MANY_CONNECTIONS, hold_until_closed

log = logging.getLogger(__name__)

# RFC 6455's "Try Again Later": the server cannot take the connection now; credentials are fine.
TRY_AGAIN_LATER = 1013


class AuthenticatingGraphQLView(GraphQLView[Context]):
    async def release_context(self, context: Context) -> None:
        await context.aclose()

    async def on_ws_connect(self, context: Context) -> UnsetType | dict[str, object] | None:
        """`{"authorization": "Bearer ..."}` in the init payload; anything else closes with 4403.

        A database that cannot say closes with 1013 instead: the client should come back.
        """
        try:
            principal = await context.runtime.credentials.resolve(
                connection_authorization(context.connection_params)
            )
        except Exception as error:
            if not is_unavailable(error) or not isinstance(context.request, WebSocket):
                raise
            log.warning("websocket refused: database unavailable (%s)", describe(error))
            await context.request.close(TRY_AGAIN_LATER, "database unavailable, retry shortly")
            raise WebSocketDisconnected from error
        if principal is None:
            raise ConnectionRejectionError()
        if isinstance(context.request, WebSocket):
            try:
                lease = context.runtime.sockets.join_tenant(principal.tenant_id)
            except SocketCapReached as refused:
                await context.request.close(TOO_MANY_CONNECTIONS, refused.message)
                raise WebSocketDisconnected from None
            hold_until_closed(context.request, lease)
        context.viewpoint = Viewpoint.of(context.sessions, principal)  # short reads: long-lived
        acknowledged: UnsetType = UNSET
        return acknowledged
