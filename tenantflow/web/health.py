"""Liveness and readiness: /healthz says the process is up; /readyz that it can serve."""

from __future__ import annotations

import asyncio
import logging

from sqlalchemy.exc import SQLAlchemyError
from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from tenantflow.db.faults import describe
from tenantflow.db.migrate import current_revision, head_revision
from tenantflow.runtime import Runtime

log = logging.getLogger(__name__)


async def healthz(_request: Request) -> Response:
    return JSONResponse({"status": "ok"})


async def readyz(request: Request) -> Response:
    runtime: Runtime = request.state.runtime
    if runtime.shutting_down:
        return JSONResponse({"status": "shutting down"}, status_code=503)
    try:
        # Bounded: a database that does not answer makes this 503, never a hang.
        async with asyncio.timeout(runtime.settings.database_pool_timeout):
            async with runtime.engine.connect() as connection:
                revision = await connection.run_sync(current_revision)
    except (SQLAlchemyError, OSError, TimeoutError) as error:
        log.warning("readiness: database unavailable (%s)", describe(error))
        return JSONResponse({"status": "database unavailable"}, status_code=503)
    if revision != head_revision():
        return JSONResponse({"status": "migrations pending"}, status_code=503)
    return JSONResponse({"status": "ready"})
