"""Migrations build the schema from nothing, go back down, and match the models exactly."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import text
from sqlalchemy.engine import Connection

from tenantflow.database_roles import DatabaseRoles
from tenantflow.db import migrate
from tenantflow.db.base import metadata
from tenantflow.db.engine import create_engine
from tests.pg_deployments import create_deployment, drop_deployment


@dataclass(frozen=True)
class EmptyDatabase:
    url: str  # the owner's
    roles: DatabaseRoles | None = None


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgresql)])
async def empty_database(
    request: pytest.FixtureRequest, tmp_path: Path
) -> AsyncIterator[EmptyDatabase]:
    """A database with nothing in it (and, on PostgreSQL, roles of its own)."""
    if request.param == "sqlite":
        yield EmptyDatabase(f"sqlite+aiosqlite:///{tmp_path / 'empty.db'}")
        return
    database = await create_deployment(migrated=False)
    try:
        yield EmptyDatabase(database.owner_url, database.roles)
    finally:
        await drop_deployment(database)


def _differences(connection: Connection) -> list[object]:
    context = MigrationContext.configure(connection, opts={"compare_type": True})
    return list(compare_metadata(context, metadata))


async def _table_names(url: str) -> set[str]:
    engine = create_engine(url, pool_size=1)
    try:
        async with engine.connect() as connection:
            return set(
                await connection.run_sync(lambda sync: set(sync.dialect.get_table_names(sync)))
            )
    finally:
        await engine.dispose()


# SQLite cannot reflect expression indexes (lower(name)); PostgreSQL compares them.
@pytest.mark.filterwarnings("ignore:Skipped unsupported reflection of expression-based index")
@pytest.mark.filterwarnings("ignore:autogenerate skipping metadata-specified expression-based")
async def test_upgrade_downgrade_upgrade(empty_database: EmptyDatabase) -> None:
    url, roles = empty_database.url, empty_database.roles
    await asyncio.to_thread(migrate.upgrade, url, roles=roles)
    assert {"workflows", "audit_logs", "alembic_version"} <= await _table_names(url)
    await asyncio.to_thread(migrate.downgrade, url, "base", roles=roles)
    assert await _table_names(url) <= {"alembic_version"}
    await asyncio.to_thread(migrate.upgrade, url, roles=roles)
    engine = create_engine(url, pool_size=1)
    try:
        async with engine.connect() as connection:
            assert await connection.run_sync(migrate.current_revision) == migrate.head_revision()
            # autogenerate finds nothing: the models and the migrations agree
            assert await connection.run_sync(_differences) == []
            modules = await connection.scalar(text("SELECT count(*) FROM modules"))
            assert modules == 4
    finally:
        await engine.dispose()
