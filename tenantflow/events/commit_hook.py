"""Wake-ups announced by the transaction that made them true, once it has committed.

The process's broker travels in every session's `info` (SessionFactory's `session_info`), so a
writer needs nothing but its session; a session without one (a command's) announces nothing, and
the safety poll and re-checks find its changes later.
"""

from __future__ import annotations

import uuid
from functools import partial
from typing import TYPE_CHECKING

from sqlmodel.ext.asyncio.session import AsyncSession

from tenantflow.db.session import after_commit
from tenantflow.events.wakeups import Kind, Wakeup

if TYPE_CHECKING:
    from tenantflow.events.broker import Broker

BROKER_KEY = "event_broker"


def session_info(broker: Broker) -> dict[str, object]:
    """What SessionFactory puts in every session so that its commits announce wake-ups."""
    return {BROKER_KEY: broker}


def announce(session: AsyncSession, wakeup: Wakeup) -> None:
    """Publish `wakeup` after the session's transaction commits (once however often asked)."""
    broker = session.info.get(BROKER_KEY)
    if broker is not None:
        after_commit(session, partial(broker.publish, wakeup), key=wakeup)


def events_written(session: AsyncSession, tenant_id: uuid.UUID) -> None:
    announce(session, Wakeup(Kind.EVENTS, tenant_id))


def work_queued(session: AsyncSession) -> None:
    announce(session, Wakeup(Kind.WORK))


def access_changed(session: AsyncSession, tenant_id: uuid.UUID) -> None:
    """A member, role, API key or session of the tenant, or the tenant itself, changed."""
    announce(session, Wakeup(Kind.ACCESS, tenant_id))


def user_changed(session: AsyncSession, user_id: uuid.UUID) -> None:
    """A user's sessions may have ended in every tenant (a changed password, say)."""
    announce(session, Wakeup(Kind.USER, user_id))
