"""Migrations build the schema from nothing, go back down, and match the models exactly."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import text
from sqlalchemy.engine import Connection

from tenantflow.db import migrate
from tenantflow.db.base import metadata
from tenantflow.db.engine import create_engine
from tests.conftest import ADMIN_URL, OWNER_ROLE, _admin_engine, _url_for


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgresql)])
async def empty_database(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[str]:
    """The owner URL of a database with nothing in it."""
    if request.param == "sqlite":
        yield f"sqlite+aiosqlite:///{tmp_path / 'empty.db'}"
        return
    name = f"tf_mig_{uuid.uuid4().hex[:12]}"
    admin = _admin_engine()
    try:
        async with admin.connect() as connection:
            await connection.execute(text(f'CREATE DATABASE "{name}" OWNER "{OWNER_ROLE}"'))
        yield _url_for(ADMIN_URL, user=OWNER_ROLE, database=name)
    finally:
        async with admin.connect() as connection:
            await connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        await admin.dispose()


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
async def test_upgrade_downgrade_upgrade(empty_database: str, postgres_database: object) -> None:
    # postgres_database: the roles the migrations grant to must exist (created once per run)
    await asyncio.to_thread(migrate.upgrade, empty_database)
    assert {"workflows", "audit_logs", "alembic_version"} <= await _table_names(empty_database)
    await asyncio.to_thread(migrate.downgrade, empty_database, "base")
    assert await _table_names(empty_database) <= {"alembic_version"}
    await asyncio.to_thread(migrate.upgrade, empty_database)
    engine = create_engine(empty_database, pool_size=1)
    try:
        async with engine.connect() as connection:
            assert await connection.run_sync(migrate.current_revision) == migrate.head_revision()
            # autogenerate finds nothing: the models and the migrations agree
            assert await connection.run_sync(_differences) == []
            modules = await connection.scalar(text("SELECT count(*) FROM modules"))
            assert modules == 4
    finally:
        await engine.dispose()
