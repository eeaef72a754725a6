"""Wake-ups announced by the transaction that made them true, once it has committed.

The process's broker travels in every session's `info` (SessionFactory's `session_info`), so a
writer needs nothing but its session; a session without one (a command's) announces nothing, and
the safety poll and re-checks find its changes later. Where the transport can (PostgreSQL's
NOTIFY), a transaction's wake-ups are sent by its last statement and leave with its commit; else
(Redis) the writer sends them itself once it has committed and the caches have forgotten what it
changed. This process's own feeds and executors are woken once it has committed.
"""

from __future__ import annotations

import uuid
from functools import partial
from typing import TYPE_CHECKING

from sqlalchemy.orm import Session
from sqlmodel.ext.asyncio.session import AsyncSession

from tenantflow.db.session import after_commit, awaited_after_commit, before_commit
from tenantflow.events.wakeups import Kind, Wakeup

if TYPE_CHECKING:
    from tenantflow.events.broker import Broker

BROKER_KEY = "event_broker"


def session_info(broker: Broker) -> dict[str, object]:
    """What SessionFactory puts in every session so that its commits announce wake-ups."""
    return {BROKER_KEY: broker}


def announce(session: AsyncSession, wakeup: Wakeup) -> None:
    """Announce `wakeup` once the session's transaction commits, never if it rolls back (once
    however often asked): to the other processes with the commit where the transport can, by
    the writer right after it otherwise, and after it in this process."""
    broker: Broker | None = session.info.get(BROKER_KEY)
    if broker is None:
        return
    after_commit(session, partial(broker.deliver_here, wakeup), key=wakeup)
    if broker.transport is None:
        return
    sender: _TransactionWakeups = (
        before_commit(session, _SentWithCommit(broker), key=BROKER_KEY)
        if broker.sends_with_commit
        else awaited_after_commit(session, _SentAfterCommit(broker), key=BROKER_KEY)
    )
    sender.wakeups[wakeup] = None


class _TransactionWakeups:
    """The wake-ups of one transaction for the other processes."""

    def __init__(self, broker: Broker) -> None:
        self.broker = broker
        self.wakeups: dict[Wakeup, None] = {}  # ordered, without repeats


class _SentWithCommit(_TransactionWakeups):
    """Sent by the transaction's last statements."""

    def __call__(self, session: Session) -> None:
        connection = session.connection()
        for statement, parameters in self.broker.commit_statements(list(self.wakeups)):
            connection.execute(statement, parameters)


class _SentAfterCommit(_TransactionWakeups):
    """Sent by the writer once the transaction has committed."""

    async def __call__(self) -> None:
        await self.broker.send(list(self.wakeups))


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
