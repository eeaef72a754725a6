"""Row locks: three modes, one order, so that no two transactions can wait on each other.

- `locked(statement)`, `FOR NO KEY UPDATE`: a writer of the row. It serialises writers of the same
  row as `FOR UPDATE` does, but it does not conflict with the `FOR KEY SHARE` that PostgreSQL's
  foreign-key checks take on a referenced row. With `FOR UPDATE` on the tenant row (quotas), every
  insert of a row referencing the tenant (events, steps, audit rows) waited for the quota holder,
  and with a third lock taken in the other order (the tenant's event counter) two transactions
  deadlocked.
- `shared(statement)`, `FOR KEY SHARE`: a row that must stay as it is while this transaction
  refers to it (a run of a workflow). Shared holders do not wait for each other or for writers.
- `excluding_references(statement)`, `FOR UPDATE`: a change that must shut out new references
  (deleting a workflow while a run would queue one), and is shut out by them.

The order, for transactions that lock more than one row (each step optional):

1. the tenant row (`services.quotas.lock_tenant`: quotas, membership and key changes);
2. a workflow row (`lock_workflow`, runs, deployments of it);
3. a deployment or an execution row (`cancelExecution`, the executor's step writes);
4. the tenant's counter rows, last and held briefly: the month's usage (`usage_counters`), then
   the event position (`event_sequences`, taken by `events.event_time`).

A transaction never takes a lock of an earlier step after one of a later step. Runs, the busiest
writers, take no tenant lock at all (their quota is the usage counter itself), so the runs of one
tenant meet only on the two counters. Conflicts that remain possible (a serialization failure, a
deadlock from a path this list forgot) roll the transaction back whole, and
`db.faults.retry_conflicts` runs it again.
"""

from __future__ import annotations

from typing import Any, TypeVar

import sqlalchemy as sa
from sqlmodel.ext.asyncio.session import AsyncSession

from tenantflow.db.session import execute

SelectT = TypeVar("SelectT", bound=sa.Select[Any])
_LOCK_NAME_SQL = sa.text("SELECT pg_advisory_xact_lock(hashtextextended(:name, 0))")


def locked(statement: SelectT) -> SelectT:
    """`statement` locking the rows it selects for writing until the transaction ends
    (PostgreSQL; SQLite's writers are serialised by BEGIN IMMEDIATE instead)."""
    return statement.with_for_update(key_share=True)


def shared(statement: SelectT) -> SelectT:
    """`statement` keeping the rows it selects from being deleted or re-keyed, or from changes
    that exclude references, until the transaction ends."""
    return statement.with_for_update(read=True, key_share=True)


def excluding_references(statement: SelectT) -> SelectT:
    """`statement` locking its rows against writers and against new references to them."""
    return statement.with_for_update()


async def lock_name(session: AsyncSession, name: str) -> None:
    """A lock on `name` (not a row) until the transaction ends, for a row that does not exist
    yet (an idempotency key being claimed). PostgreSQL only: SQLite serialises writers anyway."""
    if (await session.connection()).dialect.name == "postgresql":
        await execute(session, _LOCK_NAME_SQL, {"name": name})
