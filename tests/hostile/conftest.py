"""The hostile suite: production settings on PostgreSQL, two tenants signed up through the API,
each with a row of every kind the API makes; the probe's walkers generate most cases from the
served schema, so a field added later is attacked too.

Budgets are off (server_settings): hundreds of requests come from one tenant in a second, and the
budget tests (tests/protection/) try the limits themselves.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass

import pytest
from asgi_lifespan import LifespanManager
from starlette.types import ASGIApp

from tenantflow.app import build_app
from tenantflow.isolation.probe import scratch
from tenantflow.isolation.probe.client import Api
from tenantflow.isolation.probe.run import Probe
from tenantflow.isolation.probe.scratch import ScratchTenant
from tenantflow.schema import schema
from tenantflow.settings import Settings
from tests.api.conftest import members
from tests.conftest import server_settings
from tests.pg_deployments import PostgresDatabase, Wiper


@pytest.fixture
def backend() -> str:
    return "postgresql"


@pytest.fixture(scope="module")
def hostile_settings(
    postgres_database: PostgresDatabase, tmp_path_factory: pytest.TempPathFactory
) -> Settings:
    return server_settings(
        postgres_database.runtime_url,
        postgres_database.owner_url,
        tmp_path_factory.mktemp("hostile"),
        database_role_prefix=postgres_database.roles.prefix,
        env="production",
    )


@pytest.fixture
def settings(hostile_settings: Settings) -> Settings:
    return hostile_settings


@pytest.fixture(scope="module")
async def hostile_app(hostile_settings: Settings, wiper: Wiper) -> AsyncIterator[ASGIApp]:
    """One application per module, on data of its own: most attacks only read, and the pair of
    tenants costs seconds to make (sign-ups hash passwords)."""
    await wiper.wipe()
    async with LifespanManager(build_app(hostile_settings)) as manager:
        yield manager.app


@dataclass
class Pair:
    """Tenant `a` attacks tenant `b`; both have a row of every kind, ids harvested by type."""

    api: Api
    a: ScratchTenant
    b: ScratchTenant

    def probe(self) -> Probe:
        """A probe with a tally of its own."""
        return Probe(self.api, schema._schema)


@pytest.fixture(scope="module")
async def pair(hostile_app: ASGIApp) -> AsyncIterator[Pair]:
    api = Api(hostile_app)
    try:
        a = await scratch.sign_up(api, "a")
        b = await scratch.sign_up(api, "b")
        for tenant in (a, b):
            assert await scratch.seed(api, tenant) == []
        probe = Probe(api, schema._schema)
        await probe.harvest(a)
        await probe.harvest(b)
        yield Pair(api, a, b)
    finally:
        await api.aclose()


__all__ = ["members"]  # the API tests' tenants-and-members fixture, shared
