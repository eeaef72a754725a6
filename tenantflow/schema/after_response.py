"""Running a job once the HTTP response has been sent (Starlette background tasks)."""

from __future__ import annotations

import logging

from starlette.background import BackgroundTasks
from starlette.responses import Response

from tenantflow.context import Info
from tenantflow.services.identity.deferred import Defer, Job, run_now

log = logging.getLogger(__name__)


def after_response(info: Info) -> Defer:
    """Jobs added to the response's background tasks over HTTP; run at once elsewhere."""
    response = info.context.response
    if not isinstance(response, Response):
        return run_now

    async def defer(job: Job) -> None:
        async def logged() -> None:
            try:
                await job()
            except Exception:  # nobody waits for it: say so instead of losing it silently
                log.exception("deferred work failed (request %s)", info.context.request_id)

        if not isinstance(response.background, BackgroundTasks):
            tasks = BackgroundTasks()
            if response.background is not None:
                tasks.add_task(response.background)
            response.background = tasks
        response.background.add_task(logged)

    return defer
