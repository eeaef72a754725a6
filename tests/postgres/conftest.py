"""Engines for tests that speak SQL to PostgreSQL as the runtime role or as the table owner.

The runtime engine comes twice: straight to PostgreSQL, and through a pgbouncer of the run's own
in transaction pooling mode (TENANTFLOW_DATABASE_POOLER=transaction), where consecutive
transactions of one client may land on different server connections and a server connection
serves many clients: the isolation tests must hold both ways.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator

import pytest
from sqlalchemy.ext.asyncio import AsyncEngine

from tenantflow.db.engine import PoolOptions, create_engine
from tenantflow.settings import Pooler
from tests.api.conftest import gql, members
from tests.pg_deployments import PostgresDatabase
from tests.pg_services import Bouncer, own_pgbouncer


@pytest.fixture
def backend() -> str:
    """Everything here is PostgreSQL's (the shared fixtures run once, not once per backend)."""
    return "postgresql"


async def _engine(url: str, pooler: Pooler = Pooler.NONE) -> AsyncIterator[AsyncEngine]:
    # One pooled connection: consecutive transactions reuse it, as a busy pool would.
    engine = create_engine(url, pool=PoolOptions(size=1, pooler=pooler))
    try:
        yield engine
    finally:
        await engine.dispose()


@pytest.fixture(scope="session")
def bouncer(postgres_database: PostgresDatabase) -> Iterator[Bouncer]:
    users = [postgres_database.runtime_role, postgres_database.owner_role]
    with own_pgbouncer(users) as running:
        yield running


@pytest.fixture(params=["direct", "pgbouncer"])
async def runtime(
    clean_postgres: PostgresDatabase, request: pytest.FixtureRequest
) -> AsyncIterator[AsyncEngine]:
    """Connected as the runtime role, which holds only `<prefix>_app` (directly or pooled)."""
    if request.param == "pgbouncer":
        bouncer: Bouncer = request.getfixturevalue("bouncer")
        url = bouncer.url_for(clean_postgres.runtime_url)
        async for engine in _engine(url, Pooler.TRANSACTION):
            yield engine
        return
    async for engine in _engine(clean_postgres.runtime_url):
        yield engine


@pytest.fixture
async def owner(clean_postgres: PostgresDatabase) -> AsyncIterator[AsyncEngine]:
    """Connected as the owner of the tables (still subject to the forced policies)."""
    async for engine in _engine(clean_postgres.owner_url):
        yield engine


__all__ = ["gql", "members"]
