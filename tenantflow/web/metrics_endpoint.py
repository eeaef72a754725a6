"""GET /metrics: Prometheus text format, behind `Authorization: Bearer <TENANTFLOW_METRICS_TOKEN>`
when that is set. Not rate-limited (it is no GraphQL operation)."""

from __future__ import annotations

import hmac

from prometheus_client import CONTENT_TYPE_LATEST
from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response

from tenantflow.observability.metrics import exposition
from tenantflow.runtime import Runtime
from tenantflow.services.identity.credentials import bearer_token


async def metrics_endpoint(request: Request) -> Response:
    runtime: Runtime = request.state.runtime
    expected = runtime.settings.metrics_token
    if expected:
        given = bearer_token(request.headers.get("authorization")) or ""
        if not hmac.compare_digest(given.encode(), expected.encode()):
            return PlainTextResponse(
                "metrics need Authorization: Bearer <TENANTFLOW_METRICS_TOKEN>",
                status_code=401,
                headers={"WWW-Authenticate": "Bearer"},
            )
    return Response(exposition(), media_type=CONTENT_TYPE_LATEST)
