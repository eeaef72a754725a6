"""Row locks: one mode, one order, so that no two transactions can wait on each other.

Every row lock the application takes is `FOR NO KEY UPDATE` (`locked(statement)`): it serialises
writers of the same row as `FOR UPDATE` does, but it does not conflict with the `FOR KEY SHARE`
that PostgreSQL's foreign-key checks take on a referenced row. With `FOR UPDATE` on the tenant row
(quotas), every insert of a row that references the tenant (events, steps, audit rows) waited for
the quota holder, and with a third lock taken in the other order (the tenant's event counter) two
transactions deadlocked. No lock here changes a key, so nothing needs the stronger mode.

The order, for transactions that lock more than one row (each step optional):

1. the tenant row (`services.quotas.lock_tenant`: quotas, membership and key changes);
2. a workflow row (`lock_workflow`, runs, deployments of it);
3. a deployment or an execution row (`cancelExecution`, the executor's step writes);
4. the tenant's counter rows, last and held briefly: the event position (`event_sequences`),
   then the month's usage (`usage_counters`).

A transaction never takes a lock of an earlier step after one of a later step. Conflicts that
remain possible (a serialization failure, a deadlock from a path this list forgot) roll the
transaction back whole, and `db.faults.retry_conflicts` runs it again.
"""

from __future__ import annotations

from typing import Any, TypeVar

import sqlalchemy as sa

SelectT = TypeVar("SelectT", bound=sa.Select[Any])


def locked(statement: SelectT) -> SelectT:
    """`statement` locking the rows it selects until the transaction ends (PostgreSQL;
    SQLite's writers are serialised by BEGIN IMMEDIATE instead)."""
    return statement.with_for_update(key_share=True)
