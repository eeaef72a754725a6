"""The typed per-request context every resolver receives, and who is looking.

A `Viewpoint` is who a request (or a websocket connection) acts as: the principal, its tenant's
database handle and the loaders of that tenant. The context holds the request's own; objects that
a sign-in payload returns carry the new session's instead (`logIn { viewer { … } }` shows what the
new token may see, though the request carried no credentials).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field

import strawberry
from starlette.requests import Request
from starlette.responses import Response
from starlette.websockets import WebSocket

from tenantflow.auth.principal import Principal
from tenantflow.cache.versions import Versions
from tenantflow.dataloaders import DataLoaders
from tenantflow.db.session import SessionFactory, TenantDb
from tenantflow.errors import ErrorCode, Refusal
from tenantflow.runtime import Runtime
from tenantflow.services.actor import Actor
from tenantflow.settings import Settings

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class Viewpoint:
    """Who is looking: a principal, and the database handle and loaders of its tenant."""

    principal: Principal
    db: TenantDb
    loaders: DataLoaders
    # The cache versions read before the principal was (an HTTP request's; None: not cached).
    versions: Versions | None = None

    @classmethod
    def of(
        cls, sessions: SessionFactory, principal: Principal, *, shared_reads: bool = False
    ) -> Viewpoint:
        """`shared_reads`: one reading transaction for everything the viewpoint reads (an HTTP
        request's; see TenantDb)."""
        return cls.of_db(
            principal, sessions.for_tenant(principal.tenant_id, shared_reads=shared_reads)
        )

    @classmethod
    def of_db(
        cls, principal: Principal, db: TenantDb, versions: Versions | None = None
    ) -> Viewpoint:
        return cls(principal, db, DataLoaders.create(db), versions)


@dataclass
class Context:
    request: Request | WebSocket
    # Strawberry hands the websocket itself as the "response" of a subscription.
    response: Response | WebSocket
    runtime: Runtime
    request_id: str
    client_address: str | None
    # None without valid credentials; created fresh for every request and websocket connection.
    viewpoint: Viewpoint | None = field(default=None, repr=False)
    # The graphql-transport-ws connection_init payload (Strawberry sets it on websockets).
    connection_params: object = None

    @property
    def settings(self) -> Settings:
        return self.runtime.settings

    @property
    def sessions(self) -> SessionFactory:
        """For what comes before a tenant is known (sign-up, login); else use `db`."""
        return self.runtime.sessions

    @property
    def principal(self) -> Principal | None:
        return self.viewpoint.principal if self.viewpoint else None

    def require_viewpoint(self) -> Viewpoint:
        if self.viewpoint is None:
            raise Refusal("Authentication required", ErrorCode.UNAUTHENTICATED)
        return self.viewpoint

    def require_principal(self) -> Principal:
        return self.require_viewpoint().principal

    @property
    def db(self) -> TenantDb:
        """The request's tenant's database handle (UNAUTHENTICATED without credentials)."""
        return self.require_viewpoint().db

    @property
    def loaders(self) -> DataLoaders:
        return self.require_viewpoint().loaders

    async def aclose(self) -> None:
        """Release what the request holds (its shared reading transaction). The response is
        built already: a connection lost meanwhile is the pool's to replace, not the client's."""
        if self.viewpoint is None:
            return
        try:
            await self.viewpoint.db.aclose()
        except Exception:
            log.warning("request %s: its reading transaction could not be closed", self.request_id)

    @property
    def actor(self) -> Actor:
        """The authenticated principal with this request's address and id, for the audit trail."""
        return Actor(self.require_principal(), self.client_address, self.request_id)


Info = strawberry.Info[Context, None]
