"""PostgreSQL deployments for tests, made the way production must be.

Each deployment gets a database and roles of its own, named by one random key:
- `tf_t<key>_owner`, a login role that is not a superuser (CREATEROLE only, so that migrations can
  create the deployment's roles), owns the database and runs the migrations;
- `tf_t<key>_runtime`, the login role the application connects as, granted only `<prefix>_app`;
- `tf_t<key>_app` and `tf_t<key>_system`, the deployment's own roles (prefix `tf_t<key>`).
Roles are cluster-wide: with a prefix per deployment, concurrent test runs (and the
cross-deployment tests) never share them. A superuser connection (TENANTFLOW_TEST_POSTGRES_URL) is
used only to create and drop all of this, and to wipe data between tests.
"""

from __future__ import annotations

import asyncio
import os
import uuid
from dataclasses import dataclass

from sqlalchemy import make_url, text
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine

from tenantflow.database_roles import DatabaseRoles
from tenantflow.db import migrate

ADMIN_URL = os.environ.get(
    "TENANTFLOW_TEST_POSTGRES_URL", "postgresql+asyncpg://postgres@127.0.0.1:5432/postgres"
)
_KEY_PREFIX = "tf_t"
_DATABASE_PREFIX = "tf_test_"


@dataclass(frozen=True)
class PostgresDatabase:
    name: str
    admin_url: str
    owner_url: str
    runtime_url: str
    roles: DatabaseRoles
    owner_role: str
    runtime_role: str


def url_for(base: str, *, user: str | None = None, database: str | None = None) -> str:
    url = make_url(base)
    if user is not None:
        url = url.set(username=user, password=None)
    if database is not None:
        url = url.set(database=database)
    return url.render_as_string(hide_password=False)


def admin_engine(database: str | None = None, *, admin_url: str = ADMIN_URL) -> AsyncEngine:
    return create_async_engine(
        url_for(admin_url, database=database), isolation_level="AUTOCOMMIT", pool_size=1
    )


async def create_deployment(
    *, admin_url: str = ADMIN_URL, migrated: bool = True, grant_app: bool = True
) -> PostgresDatabase:
    """A database with roles of its own; migrated and its runtime granted `<prefix>_app`."""
    key = uuid.uuid4().hex[:10]
    prefix = f"{_KEY_PREFIX}{key}"
    database = PostgresDatabase(
        name=f"{_DATABASE_PREFIX}{key}",
        admin_url=url_for(admin_url, database=f"{_DATABASE_PREFIX}{key}"),
        owner_url=url_for(admin_url, user=f"{prefix}_owner", database=f"{_DATABASE_PREFIX}{key}"),
        runtime_url=url_for(
            admin_url, user=f"{prefix}_runtime", database=f"{_DATABASE_PREFIX}{key}"
        ),
        roles=DatabaseRoles(prefix),
        owner_role=f"{prefix}_owner",
        runtime_role=f"{prefix}_runtime",
    )
    admin = admin_engine(admin_url=admin_url)
    try:
        async with admin.connect() as connection:
            # The database first: the clean-up of crashed runs keys on it (drop_stale_roles).
            await connection.execute(text(f'CREATE DATABASE "{database.name}"'))
            await connection.execute(
                text(f'CREATE ROLE "{database.owner_role}" LOGIN NOSUPERUSER CREATEROLE')
            )
            await connection.execute(text(f'CREATE ROLE "{database.runtime_role}" LOGIN'))
            await connection.execute(
                text(f'ALTER DATABASE "{database.name}" OWNER TO "{database.owner_role}"')
            )
        if migrated:
            # Alembic's env runs its own event loop: give it a thread.
            await asyncio.to_thread(migrate.upgrade, database.owner_url, roles=database.roles)
            if grant_app:
                async with admin.connect() as connection:
                    await connection.execute(
                        text(f'GRANT {database.roles.app} TO "{database.runtime_role}"')
                    )
    finally:
        await admin.dispose()
    return database


async def drop_deployment(database: PostgresDatabase, *, admin_url: str = ADMIN_URL) -> None:
    admin = admin_engine(admin_url=admin_url)
    try:
        async with admin.connect() as connection:
            await connection.execute(
                text(f'DROP DATABASE IF EXISTS "{database.name}" WITH (FORCE)')
            )
            for role in (*database.roles.all, database.runtime_role, database.owner_role):
                await connection.execute(text(f'DROP ROLE IF EXISTS "{role}"'))
    finally:
        await admin.dispose()


async def drop_stale_roles(*, admin_url: str = ADMIN_URL) -> None:
    """Drop the roles of test deployments whose database is gone (runs that crashed)."""
    admin = admin_engine(admin_url=admin_url)
    try:
        async with admin.connect() as connection:
            stale = (
                await connection.execute(
                    text(
                        "SELECT rolname FROM pg_roles r WHERE rolname LIKE :pattern"
                        " AND NOT EXISTS (SELECT 1 FROM pg_database d WHERE d.datname ="
                        " :database_prefix || substring(r.rolname FROM 5 FOR 10))"
                        " ORDER BY rolname LIKE '%\\_owner' DESC"
                    ),
                    {"pattern": f"{_KEY_PREFIX}%\\_%", "database_prefix": _DATABASE_PREFIX},
                )
            ).scalars()
            for role in list(stale):
                # A role still owning or holding something elsewhere stays; that is not ours.
                try:
                    await connection.execute(text(f'DROP ROLE "{role}"'))
                except Exception:  # noqa: S112
                    continue
    finally:
        await admin.dispose()


class Wiper:
    """Removes every row but the reference data between tests, on one connection kept open.

    DELETE, not TRUNCATE: for the few rows a test leaves, deleting is some 25 times faster than
    truncating (which replaces every table's files). Replica mode lets it past the audit triggers
    and the foreign-key order; SET LOCAL keeps that to the one transaction.
    """

    def __init__(self, database: PostgresDatabase) -> None:
        self._engine = create_async_engine(url_for(database.admin_url), pool_size=1, max_overflow=0)
        self._statement: str | None = None

    async def wipe(self) -> None:
        async with self._engine.begin() as connection:
            if self._statement is None:
                tables = (
                    await connection.execute(
                        text("SELECT tablename FROM pg_tables WHERE schemaname = 'public'")
                    )
                ).scalars()
                deletes = " ".join(
                    f"DELETE FROM {table};" for table in sorted(set(tables) - REFERENCE_TABLES)
                )
                self._statement = f"DO $$ BEGIN {deletes} END $$"
            await connection.execute(text("SET LOCAL session_replication_role = replica"))
            await connection.execute(text(self._statement))

    async def close(self) -> None:
        await self._engine.dispose()


# Tables whose rows are fixed by migrations and survive the wipe between tests.
REFERENCE_TABLES = {"modules", "alembic_version"}
