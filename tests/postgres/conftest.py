"""Engines for tests that speak SQL to PostgreSQL as the runtime role or as the table owner."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
from sqlalchemy.ext.asyncio import AsyncEngine

from tenantflow.db.engine import create_engine
from tests.pg_deployments import PostgresDatabase


async def _engine(url: str) -> AsyncIterator[AsyncEngine]:
    # One pooled connection: consecutive transactions reuse it, as a busy pool would.
    engine = create_engine(url, pool_size=1)
    try:
        yield engine
    finally:
        await engine.dispose()


@pytest.fixture
async def runtime(clean_postgres: PostgresDatabase) -> AsyncIterator[AsyncEngine]:
    """Connected as the runtime role, which holds only `<prefix>_app`."""
    async for engine in _engine(clean_postgres.runtime_url):
        yield engine


@pytest.fixture
async def owner(clean_postgres: PostgresDatabase) -> AsyncIterator[AsyncEngine]:
    """Connected as the owner of the tables (still subject to the forced policies)."""
    async for engine in _engine(clean_postgres.owner_url):
        yield engine
