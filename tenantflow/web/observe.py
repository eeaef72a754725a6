"""Each HTTP request is measured once it is answered: the request log line and the metrics.

What GraphQL ran (operation, tenant, cost, error codes) is left on the request's state by the
protection extension (`schema/protection.py: OperationRecord`); the status and duration are seen
here. Websocket operations are counted by the extension itself (they have no response).
"""

from __future__ import annotations

import time
import uuid

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from tenantflow.db.models import Tenant
from tenantflow.observability import metrics
from tenantflow.observability.request_log import log, request_line
from tenantflow.runtime import Runtime
from tenantflow.schema.protection import RECORD_KEY, OperationRecord


class ObserveMiddleware:
    """Inside RequestIdMiddleware (it reads the request id from the scope's state)."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        status = 500  # what the client gets when the app fails before answering

        async def watching_send(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = int(message["status"])
            await send(message)

        try:
            await self.app(scope, receive, watching_send)
        finally:
            await self._observe(scope, status, time.perf_counter() - started)

    async def _observe(self, scope: Scope, status: int, seconds: float) -> None:
        state = scope.get("state", {})
        record = state.get(RECORD_KEY)
        runtime = state.get("runtime")
        fields: dict[str, object] = {
            "request_id": state.get("request_id"),
            "method": scope.get("method"),
            "path": scope.get("path"),
            "status": status,
            "duration_ms": round(seconds * 1000, 1),
        }
        if isinstance(record, OperationRecord):
            fields |= {
                "tenant": str(record.tenant_id) if record.tenant_id else None,
                "operation": record.name,
                "cost": record.cost,
                "errors": record.error_codes or None,
            }
            if isinstance(runtime, Runtime):
                await _count(runtime, record, seconds)
        log.info(request_line(**fields))


async def _count(runtime: Runtime, record: OperationRecord, seconds: float) -> None:
    if record.tenant_id is not None:
        await runtime.tenant_labels.count(record.tenant_id, _slug_lookup(runtime))
    operation = runtime.operation_labels.label(record.name)
    tenant = runtime.tenant_labels.label(record.tenant_id)
    metrics.REQUESTS.labels(operation, tenant, "http").inc()
    metrics.REQUEST_DURATION.labels(operation, tenant).observe(seconds)
    for code in record.error_codes:
        metrics.ERRORS.labels(operation, tenant, code).inc()


def _slug_lookup(runtime: Runtime) -> metrics.SlugLookup:
    async def slug_of(tenant_id: uuid.UUID) -> str | None:
        try:
            async with runtime.sessions.global_reader() as session:
                tenant = await session.get(Tenant, tenant_id)
        except Exception:  # a label is not worth a failed request; try again next time
            return None
        return tenant.slug if tenant is not None else None

    return slug_of
