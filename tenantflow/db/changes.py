"""What a committed writing transaction may have changed, for the caches to forget.

Found, not declared, in what the session writes through the ORM: flushed rows and ORM update and
delete statements. A tenant's writing transaction changed its tenant; a change to a row that belongs
to no tenant (a user, a tenant's own row, the module catalogue) may show in any tenant's answers,
and a changed user's sessions may have ended. Statements sent on the connection itself (the narrow
paths) are not seen: the ones that write touch only what no answer shows (the executor's leases).
"""

from __future__ import annotations

import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import event
from sqlalchemy.orm import ORMExecuteState, Session

from tenantflow.db.base import TenantOwned
from tenantflow.db.models import User

CHANGES_KEY = "changes"


@dataclass
class Changes:
    """Collected in a session's `info` while its transaction runs."""

    tenants: set[uuid.UUID] = field(default_factory=set)
    users: set[uuid.UUID] = field(default_factory=set)
    shared: bool = False
    # An ORM statement changed tenant rows: in an unscoped session, of tenants unknown.
    tenant_rows: bool = False


@dataclass(frozen=True, slots=True)
class Committed:
    """What one committed transaction may have changed."""

    tenants: frozenset[uuid.UUID]
    users: frozenset[uuid.UUID]
    # A row that belongs to no tenant: any tenant's answers may show it.
    shared: bool


# Awaited after each commit, before the writer goes on (and so before it answers).
OnCommitted = Callable[[Committed], Awaitable[None]]


def _changes(session: Session) -> Changes:
    changes = session.info.get(CHANGES_KEY)
    if changes is None:
        changes = session.info[CHANGES_KEY] = Changes()
    return changes


def committed(session: Session, tenant_id: uuid.UUID | None) -> Committed:
    """What the transaction that just committed in `session` (of `tenant_id`, if scoped) changed."""
    changes = session.info.pop(CHANGES_KEY, None) or Changes()
    tenants = changes.tenants | ({tenant_id} if tenant_id is not None else set())
    shared = changes.shared or (tenant_id is None and changes.tenant_rows)
    return Committed(frozenset(tenants), frozenset(changes.users), shared)


def forget(session: Session) -> None:
    session.info.pop(CHANGES_KEY, None)


@event.listens_for(Session, "before_flush")
def _note_flushed(session: Session, _context: Any, _instances: Any) -> None:
    for row in (*session.dirty, *session.deleted):
        if row in session.dirty and not session.is_modified(row):
            continue
        changes = _changes(session)
        if isinstance(row, TenantOwned):
            changes.tenants.add(row.tenant_id)
            continue
        changes.shared = True
        if isinstance(row, User):
            changes.users.add(row.id)


@event.listens_for(Session, "do_orm_execute")
def _note_statement(state: ORMExecuteState) -> None:
    if not (state.is_update or state.is_delete or state.is_insert):
        return
    table = getattr(state.statement, "table", None)
    changes = _changes(state.session)
    if table is not None and "tenant_id" in table.c:
        changes.tenant_rows = True
    else:
        changes.shared = True
