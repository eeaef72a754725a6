"""Live execution status over the websocket: executionUpdated and executionEvents."""

from __future__ import annotations

import time
import uuid
from collections.abc import AsyncGenerator, Callable, Coroutine
from typing import Any

import strawberry
from sqlmodel import col, select
from starlette.websockets import WebSocket

from tenantflow.auth.permissions import Permission
from tenantflow.context import Info
from tenantflow.db.faults import is_unavailable
from tenantflow.db.models import Execution as ExecutionRow
from tenantflow.db.models import ExecutionEvent as EventRow
from tenantflow.errors import ErrorCode, Refusal
from tenantflow.events.batch import FeedEvent
from tenantflow.events.reading import (
    CursorExpired,
    CursorUnknown,
    EventFilter,
    check_resumable,
)
from tenantflow.events.record import decode_event_cursor
from tenantflow.events.stream import AccessCheck, follow
from tenantflow.schema.arguments import filter_id, given
from tenantflow.schema.executions import ExecutionEvent
from tenantflow.schema.guards import requires
from tenantflow.schema.ids import uuid_of
from tenantflow.services.identity.credentials import connection_authorization

# Open subscriptions re-check their credentials this often (the contract allows 60 s), and at
# once when a revocation in their tenant wakes them.
RECHECK_SECONDS = 30.0
REVOKED_CLOSE_CODE = 4403
# A subscriber whose client stopped reading, so that its queue of undelivered events overflowed
# (events/subscriber.py): the socket is closed; the client resumes with `after: <last cursor>`.
SLOW_CONSUMER_CLOSE_CODE = 4008
SLOW_CONSUMER_REASON = "slow consumer: resume with after"


def _access_check(info: Info) -> AccessCheck:
    """A check, run at most every RECHECK_SECONDS (or at once when asked), that the connection's
    credentials still hold. When they no longer do, the websocket is closed with 4403 and a reason.
    The subscriptions of the process holding the same credentials share the checks
    (services/identity/rechecks.py)."""
    context = info.context
    authorization = connection_authorization(context.connection_params)  # the connection's own
    checked_at = time.monotonic()

    async def still_allowed(since: float | None) -> bool:
        nonlocal checked_at
        if since is None and time.monotonic() - checked_at < RECHECK_SECONDS:
            return True
        checked_at = time.monotonic()
        try:
            principal = (
                await context.runtime.rechecks.principal(authorization, since=since)
                if authorization is not None
                else None
            )
        except Exception as error:
            if not is_unavailable(error):
                raise
            checked_at = 0.0  # an outage is no verdict: check again on the next round
            return True
        allowed = (
            principal is not None
            and principal.tenant_id == context.require_principal().tenant_id
            and principal.can(Permission.EXECUTION_READ)
        )
        if not allowed and isinstance(context.request, WebSocket):
            await context.request.close(REVOKED_CLOSE_CODE, "credentials revoked")
        return allowed

    return still_allowed


def _closer(info: Info) -> Callable[[], Coroutine[Any, Any, None]]:
    """Closes the subscriber's socket when it fell too far behind."""
    request = info.context.request

    async def close() -> None:
        if isinstance(request, WebSocket):
            await request.close(SLOW_CONSUMER_CLOSE_CODE, SLOW_CONSUMER_REASON)

    return close


def _follow(info: Info, after: int | None, where: EventFilter) -> AsyncGenerator[FeedEvent, None]:
    context = info.context
    return follow(
        context.runtime.events.feeds,
        context.db,
        after,
        where,
        user_id=context.require_principal().user_id,
        still_allowed=_access_check(info),
        recheck_seconds=RECHECK_SECONDS,
        on_overflow=_closer(info),
    )


async def _latest_event(info: Info, execution_id: uuid.UUID) -> EventRow | None:
    """The newest event of an execution of this tenant: its current state."""
    statement = (
        select(EventRow)
        .join(ExecutionRow, col(ExecutionRow.id) == col(EventRow.execution_id))
        .where(col(EventRow.execution_id) == execution_id)
        .order_by(col(EventRow.seq).desc())
        .limit(1)
    )
    async with info.context.db.reader() as session:
        return (await session.exec(statement)).first()


def _ends_stream(event: EventRow) -> bool:
    return event.status.is_terminal and event.step is None


@strawberry.type
class ExecutionSubscription:
    @strawberry.subscription(
        description=(
            "The execution's current state first, then every change; completes after a terminal"
            " status."
        ),
        permission_classes=[requires(Permission.EXECUTION_READ)],
    )
    async def execution_updated(
        self, info: Info, execution_id: strawberry.ID
    ) -> AsyncGenerator[ExecutionEvent, None]:
        key = uuid_of(execution_id, "Execution")
        current = await _latest_event(info, key) if key else None
        if key is None or current is None:
            return  # unknown or foreign: complete at once, with no event
        yield ExecutionEvent.from_row(current)
        if current.status.is_terminal:
            return
        async for event in _follow(info, current.seq, EventFilter(execution_id=key)):
            yield ExecutionEvent.from_row(event.row, event.batch)
            if _ends_stream(event.row):
                return

    @strawberry.subscription(
        description=(
            "Every execution change in the active tenant, optionally of one workflow.\nWith after:"
            " first replays the events after that cursor (from the retained history), then goes"
            " live."
        ),
        permission_classes=[requires(Permission.EXECUTION_READ)],
    )
    async def execution_events(
        self,
        info: Info,
        workflow_id: strawberry.ID | None = strawberry.UNSET,
        after: str | None = strawberry.UNSET,
    ) -> AsyncGenerator[ExecutionEvent, None]:
        after = given(after)
        db = info.context.db
        # An unknown or foreign workflow simply has no events.
        where = EventFilter(workflow_id=filter_id(workflow_id, "Workflow"))
        position = None  # live from now: from where the tenant's feed is
        if after is not None:
            decoded = decode_event_cursor(after)
            if decoded is None:
                raise Refusal("Invalid cursor", ErrorCode.BAD_USER_INPUT)
            try:
                await check_resumable(db, decoded)
            except CursorExpired:
                raise Refusal(
                    "This cursor is older than the retained events", ErrorCode.CURSOR_EXPIRED
                ) from None
            except CursorUnknown:
                raise Refusal("Invalid cursor", ErrorCode.BAD_USER_INPUT) from None
            position = decoded
        async for event in _follow(info, position, where):
            yield ExecutionEvent.from_row(event.row, event.batch)
