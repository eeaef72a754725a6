"""A scratch deployment per test (database and roles of its own): the lint tests plant defects in
it, cluster-level ones (role attributes, memberships) on roles that only it has."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from tenantflow.db.engine import create_engine
from tenantflow.isolation.findings import Finding
from tenantflow.isolation.lint import lint
from tests.pg_deployments import PostgresDatabase, create_deployment, drop_deployment


@pytest.fixture
def backend() -> str:
    return "postgresql"


@pytest.fixture
async def scratch() -> AsyncIterator[PostgresDatabase]:
    database = await create_deployment()
    try:
        yield database
    finally:
        await drop_deployment(database)


@asynccontextmanager
async def engine_for(url: str) -> AsyncIterator[AsyncEngine]:
    engine = create_engine(url, pool_size=1)
    try:
        yield engine
    finally:
        await engine.dispose()


async def run_sql(url: str, *statements: str) -> None:
    """Each statement in autocommit, connected as `url` says (owner, or superuser: admin_url)."""
    async with engine_for(url) as engine, engine.connect() as connection:
        await connection.execution_options(isolation_level="AUTOCOMMIT")
        for statement in statements:
            await connection.execute(text(statement))


async def findings_of(database: PostgresDatabase) -> list[Finding]:
    async with engine_for(database.owner_url) as owner:
        return await lint(owner, database.runtime_role, database.roles)
