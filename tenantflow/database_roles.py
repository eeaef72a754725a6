"""The names of one deployment's PostgreSQL roles, from `TENANTFLOW_DATABASE_ROLE_PREFIX`.

A plain value beside the settings that carry it; `db/roles.py` says what the roles may do.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

DEFAULT_PREFIX = "tenantflow"
_PREFIX = re.compile(r"[a-z][a-z0-9_]{0,39}")


@dataclass(frozen=True, slots=True)
class DatabaseRoles:
    prefix: str = DEFAULT_PREFIX

    def __post_init__(self) -> None:
        # The names are spliced into DDL (roles cannot be bound parameters): only plain ones.
        if not _PREFIX.fullmatch(self.prefix):
            raise ValueError(
                f"invalid role prefix {self.prefix!r}: lower-case letters, digits and _,"
                " starting with a letter, at most 40 characters"
            )

    @property
    def app(self) -> str:
        return f"{self.prefix}_app"

    @property
    def system(self) -> str:
        return f"{self.prefix}_system"

    @property
    def all(self) -> tuple[str, str]:
        return (self.app, self.system)
