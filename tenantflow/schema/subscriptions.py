"""Live execution status over the websocket: executionUpdated and executionEvents."""

from __future__ import annotations

import time
import uuid
from collections.abc import AsyncGenerator, Awaitable, Callable

import strawberry
from sqlmodel import col, select
from starlette.websockets import WebSocket

from tenantflow.auth.permissions import Permission
from tenantflow.context import Info
from tenantflow.db.faults import is_unavailable
from tenantflow.db.models import Execution as ExecutionRow
from tenantflow.db.models import ExecutionEvent as EventRow
from tenantflow.errors import ErrorCode, Refusal
from tenantflow.events.record import decode_event_cursor
from tenantflow.events.stream import (
    CursorExpired,
    CursorUnknown,
    EventFilter,
    check_resumable,
    follow,
    stream_position,
)
from tenantflow.schema.arguments import filter_id, given
from tenantflow.schema.executions import ExecutionEvent
from tenantflow.schema.guards import requires
from tenantflow.schema.ids import uuid_of
from tenantflow.services.identity.credentials import connection_authorization

# Open subscriptions re-check their credentials this often (the contract allows 60 s).
RECHECK_SECONDS = 30.0
REVOKED_CLOSE_CODE = 4403


def _access_check(info: Info) -> Callable[[], Awaitable[bool]]:
    """A check, run at most every RECHECK_SECONDS, that the connection's credentials still hold.

    When they no longer do, the websocket is closed with 4403 and a reason.
    """
    context = info.context
    checked_at = time.monotonic()

    async def still_allowed() -> bool:
        nonlocal checked_at
        if time.monotonic() - checked_at < RECHECK_SECONDS:
            return True
        checked_at = time.monotonic()
        try:
            principal = await context.runtime.credentials.resolve(
                connection_authorization(context.connection_params)
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
        async for event in follow(
            info.context.db,
            info.context.runtime.events,
            current.seq,
            EventFilter(execution_id=key),
            still_allowed=_access_check(info),
        ):
            yield ExecutionEvent.from_row(event)
            if _ends_stream(event):
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
        if after is None:
            position = await stream_position(db)
        else:
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
        async for event in follow(
            db,
            info.context.runtime.events,
            position,
            where,
            still_allowed=_access_check(info),
        ):
            yield ExecutionEvent.from_row(event)
