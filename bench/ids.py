"""The deterministic ids of the loaded data, the same as bench/sql/load_data.sql makes."""

from __future__ import annotations

import uuid
from enum import IntEnum

from tenantflow.schema.ids import to_global_id


class Kind(IntEnum):
    TENANT = 1
    USER = 2
    MEMBERSHIP = 3
    SESSION = 4
    WORKFLOW = 5


def bench_id(kind: Kind, i: int, j: int = 0) -> uuid.UUID:
    return uuid.UUID(f"{int(kind):08x}-{i:04x}-4000-8000-{j:012x}")


def tenant_id(i: int) -> uuid.UUID:
    return bench_id(Kind.TENANT, i)


def user_id(i: int, k: int) -> uuid.UUID:
    return bench_id(Kind.USER, i, k)


def session_id(i: int, k: int) -> uuid.UUID:
    return bench_id(Kind.SESSION, i, k)


def workflow_id(i: int, j: int) -> uuid.UUID:
    return bench_id(Kind.WORKFLOW, i, j)


def workflow_gid(i: int, j: int) -> str:
    """tenantflow's global id of workflow j of tenant i."""
    return str(to_global_id("Workflow", workflow_id(i, j)))


def runnable(j: int) -> bool:
    """Workflows the loader made ACTIVE and left undeleted (see load_data.sql)."""
    return j % 10 >= 3 and j % 50 != 25


def visible(j: int) -> bool:
    """Workflows the loader did not soft-delete."""
    return j % 50 != 25
