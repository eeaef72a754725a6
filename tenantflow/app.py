"""build_app(settings) -> the Starlette application: routes, middleware and the lifespan."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Any

from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.middleware.cors import CORSMiddleware
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route
from starlette.websockets import WebSocket

from tenantflow.context import Context, Viewpoint
from tenantflow.db.engine import runtime_engine
from tenantflow.db.faults import describe, is_unavailable
from tenantflow.db.role_check import ensure_safe_runtime_role
from tenantflow.errors import ServiceUnavailable
from tenantflow.executor.workers import Executor
from tenantflow.gc_tuning import tune_for_serving
from tenantflow.observability import metrics, request_log
from tenantflow.runtime import Runtime
from tenantflow.schema import build_schema
from tenantflow.schema.masking import public_error
from tenantflow.services.identity.credentials import Resolved
from tenantflow.settings import Settings
from tenantflow.web.body_limit import BodyLimitMiddleware
from tenantflow.web.client_address import Network, client_address, parse_proxies
from tenantflow.web.fault_barrier import FaultBarrierMiddleware
from tenantflow.web.graphiql import graphiql_static_routes
from tenantflow.web.graphql_view import graphql_routes
from tenantflow.web.health import healthz, readyz
from tenantflow.web.metrics_endpoint import metrics_endpoint
from tenantflow.web.observe import ObserveMiddleware
from tenantflow.web.request_id import RequestIdMiddleware
from tenantflow.web.websocket_auth import AuthenticatingGraphQLView
from tenantflow.web.websocket_guard import WebSocketGuardMiddleware

log = logging.getLogger(__name__)

MAX_BODY_BYTES = 1024 * 1024


@dataclass(frozen=True)
class ContextFactory:
    """Builds each request's Context (Strawberry's context getter)."""

    trusted_proxies: list[Network]

    async def __call__(
        self, request: Request | WebSocket, response: Response | WebSocket
    ) -> Context:
        return await get_context(request, response, self.trusted_proxies)


async def get_context(
    request: Request | WebSocket, response: Response | WebSocket, proxies: Sequence[Network]
) -> Context:
    runtime: Runtime = request.state.runtime
    # A websocket authenticates at connection_init instead (AuthenticatingGraphQLView).
    resolved = (
        None
        if isinstance(request, WebSocket)
        else await resolve_credentials(runtime, request.headers.get("authorization"))
    )
    return Context(
        request=request,
        response=response,
        runtime=runtime,
        request_id=request.state.request_id,
        client_address=client_address(request, proxies),
        viewpoint=(
            Viewpoint.of_db(resolved.principal, resolved.db, resolved.versions)
            if resolved
            else None
        ),
    )


async def resolve_credentials(runtime: Runtime, authorization: str | None) -> Resolved | None:
    """The principal of a request and the handle its reads share; ServiceUnavailable when the
    database cannot say."""
    try:
        return await runtime.credentials.resolve_with_db(authorization)
    except Exception as error:
        if is_unavailable(error):
            log.warning("database unavailable resolving credentials: %s", describe(error))
            raise public_error(ServiceUnavailable()) from error
        raise


def build_app(settings: Settings) -> Starlette:
    @asynccontextmanager
    async def lifespan(_app: Starlette) -> AsyncIterator[dict[str, Any]]:
        engine = runtime_engine(settings)
        try:
            await ensure_safe_runtime_role(engine, settings.database_roles)
            runtime = Runtime.create(settings, engine)
            await runtime.events.start()
            executor = None
            try:
                if settings.executor_workers > 0:
                    executor = Executor(
                        runtime.sessions,
                        nodes=runtime.nodes,
                        workers=settings.executor_workers,
                        lease_seconds=settings.executor_lease_seconds,
                        idle_seconds=settings.executor_idle_seconds,
                        doorbell=runtime.events.doorbell,
                    )
                    await executor.start()
                if settings.tune_gc:
                    tune_for_serving()
                yield {"runtime": runtime}
            finally:
                runtime.shutting_down = True
                if executor is not None:
                    await executor.stop()
                # After the executor: the executions it handed back wake other processes.
                await runtime.events.stop()
                await runtime.limiter_storage.aclose()
                if runtime.caches is not None:
                    await runtime.caches.store.close()
        finally:
            await engine.dispose()
            metrics.process_exited()

    proxies = parse_proxies(settings.trusted_proxies)
    graphql = AuthenticatingGraphQLView(
        build_schema(projection=settings.projection, introspection=settings.introspection_enabled),
        context_getter=ContextFactory(proxies),
        graphiql=settings.graphiql_enabled,
        # Strawberry's own cap counts every operation in flight; subscriptions have their own
        # (protection/sockets.py): this one is the backstop for queries sent over the socket.
        max_subscriptions_per_connection=2 * settings.ws_max_subscriptions_per_connection,
    )
    routes = [
        Route("/healthz", healthz, methods=["GET"]),
        Route("/readyz", readyz, methods=["GET"]),
        Route("/metrics", metrics_endpoint, methods=["GET"]),
        *graphql_routes(graphql),
        *graphiql_static_routes(),
    ]
    middleware = [
        Middleware(RequestIdMiddleware),
        Middleware(ObserveMiddleware),
        Middleware(FaultBarrierMiddleware),
        Middleware(
            CORSMiddleware,
            allow_origins=settings.cors_origins,
            allow_methods=["GET", "POST"],
            allow_headers=["authorization", "content-type", "x-request-id"],
            expose_headers=[
                "x-request-id",
                "retry-after",
                "x-ratelimit-limit",
                "x-ratelimit-remaining",
                "x-ratelimit-reset",
                "x-cost-limit",
                "x-cost-remaining",
            ],
        ),
        Middleware(BodyLimitMiddleware, max_bytes=MAX_BODY_BYTES),
        Middleware(WebSocketGuardMiddleware, proxies=proxies),
    ]
    return Starlette(routes=routes, middleware=middleware, lifespan=lifespan)


def create_app() -> Starlette:
    """Entry point for uvicorn's factory mode: settings from the environment."""
    request_log.configure()
    return build_app(Settings())
