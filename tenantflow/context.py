"""The typed per-request context every resolver receives."""

from __future__ import annotations

from dataclasses import dataclass

import strawberry
from starlette.requests import Request
from starlette.responses import Response
from starlette.websockets import WebSocket

from tenantflow.db.session import SessionFactory
from tenantflow.runtime import Runtime
from tenantflow.settings import Settings


@dataclass
class Context:
    request: Request | WebSocket
    # Strawberry hands the websocket itself as the "response" of a subscription.
    response: Response | WebSocket
    runtime: Runtime
    request_id: str

    @property
    def settings(self) -> Settings:
        return self.runtime.settings

    @property
    def sessions(self) -> SessionFactory:
        return self.runtime.sessions


Info = strawberry.Info[Context, None]
