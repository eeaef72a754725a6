"""Running Alembic from code: `tenantflow migrate`, `python main.py`, the readiness check, tests."""

from __future__ import annotations

import os
from pathlib import Path

from alembic import command, context
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy.engine import Connection

from tenantflow.database_roles import DEFAULT_PREFIX, DatabaseRoles

MIGRATIONS_DIR = Path(__file__).resolve().parent.parent / "migrations"
_ROLES_ATTRIBUTE = "database_roles"


def alembic_config(url: str | None = None, roles: DatabaseRoles | None = None) -> Config:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    if url:
        # Alembic's ini interpolation treats % specially.
        config.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    if roles is not None:
        config.attributes[_ROLES_ATTRIBUTE] = roles
    return config


def upgrade(url: str, revision: str = "head", *, roles: DatabaseRoles | None = None) -> None:
    """Bring the database at `url` (the owner connection) to `revision`; blocking."""
    command.upgrade(alembic_config(url, roles), revision)


def downgrade(url: str, revision: str = "base", *, roles: DatabaseRoles | None = None) -> None:
    command.downgrade(alembic_config(url, roles), revision)


def migration_roles() -> DatabaseRoles:
    """The roles the running migration works with: those `upgrade` was given, else the prefix in
    TENANTFLOW_DATABASE_ROLE_PREFIX (for the plain `alembic` command)."""
    roles = context.config.attributes.get(_ROLES_ATTRIBUTE)
    if isinstance(roles, DatabaseRoles):
        return roles
    return DatabaseRoles(os.environ.get("TENANTFLOW_DATABASE_ROLE_PREFIX", DEFAULT_PREFIX))


def head_revision() -> str | None:
    return ScriptDirectory.from_config(alembic_config()).get_current_head()


def current_revision(connection: Connection) -> str | None:
    return MigrationContext.configure(connection).get_current_revision()
