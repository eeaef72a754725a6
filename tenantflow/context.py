"""The typed per-request context every resolver receives."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import strawberry
from starlette.requests import Request
from starlette.responses import Response
from starlette.websockets import WebSocket

from tenantflow.auth.principal import Principal
from tenantflow.db.session import SessionFactory
from tenantflow.errors import ErrorCode, PublicError
from tenantflow.runtime import Runtime
from tenantflow.services.actor import Actor
from tenantflow.settings import Settings

if TYPE_CHECKING:
    from tenantflow.dataloaders import DataLoaders


@dataclass
class Context:
    request: Request | WebSocket
    # Strawberry hands the websocket itself as the "response" of a subscription.
    response: Response | WebSocket
    runtime: Runtime
    request_id: str
    principal: Principal | None
    client_address: str | None
    # Created fresh for every request (and websocket connection): never shared across tenants.
    loaders: DataLoaders = field(repr=False)
    # The graphql-transport-ws connection_init payload (Strawberry sets it on websockets).
    connection_params: object = None

    @property
    def settings(self) -> Settings:
        return self.runtime.settings

    @property
    def sessions(self) -> SessionFactory:
        return self.runtime.sessions

    def require_principal(self) -> Principal:
        if self.principal is None:
            raise PublicError("Authentication required", ErrorCode.UNAUTHENTICATED)
        return self.principal

    @property
    def actor(self) -> Actor:
        """The authenticated principal with this request's address and id, for the audit trail."""
        return Actor(self.require_principal(), self.client_address, self.request_id)


Info = strawberry.Info[Context, None]
