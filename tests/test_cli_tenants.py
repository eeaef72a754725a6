"""`tenantflow tenant activate|suspend|set-plan`: the operator's controls, seen through the API."""

from __future__ import annotations

import asyncio
from datetime import timedelta

import httpx
import pytest
from sqlalchemy import update
from sqlmodel import col

from tenantflow import cli
from tenantflow.db import models
from tenantflow.db.session import SessionFactory
from tenantflow.db.types import utcnow
from tenantflow.enums import Plan, TenantStatus
from tenantflow.settings import Settings
from tests.api.auth_helpers import audit_rows
from tests.api.conftest import GraphQLClient, Member, Members
from tests.redis_helpers import REDIS_URL

RENAME = 'mutation { updateTenant(input: {name: "Renamed"}) { __typename } }'
VIEWER_ROLE = "{ viewer { role } }"


# The API tests' fixtures (tests/api/conftest.py), for this module outside that folder.
@pytest.fixture
def gql(client: httpx.AsyncClient) -> GraphQLClient:
    return GraphQLClient(client)


@pytest.fixture
def members(sessions: SessionFactory, settings: Settings) -> Members:
    return Members(sessions, settings)


@pytest.fixture(params=["memory", "redis"])
def settings(settings: Settings, request: pytest.FixtureRequest) -> Settings:
    """With the server's cache in this process or in Redis (where principals are cached too, and
    the command must reach them)."""
    if request.param == "memory":
        return settings
    prefix: str = request.getfixturevalue("redis_prefix")
    return settings.model_copy(update={"redis_url": REDIS_URL, "redis_key_prefix": prefix})


@pytest.fixture
def environment(settings: Settings, monkeypatch: pytest.MonkeyPatch) -> None:
    """The command reads its settings from the environment, as an operator's shell has them."""
    monkeypatch.setenv("TENANTFLOW_DATABASE_URL", settings.database_url)
    monkeypatch.setenv("TENANTFLOW_MIGRATION_DATABASE_URL", settings.owner_database_url)
    monkeypatch.setenv("TENANTFLOW_DATA_DIR", str(settings.data_dir))
    if settings.redis_url is not None:
        monkeypatch.setenv("TENANTFLOW_REDIS_URL", settings.redis_url)
        monkeypatch.setenv("TENANTFLOW_REDIS_KEY_PREFIX", settings.redis_key_prefix)


async def tenantflow(*args: str) -> int:
    # In a thread: the command runs an event loop of its own.
    return await asyncio.to_thread(cli.main, list(args))


async def slug_of(sessions: SessionFactory, member: Member) -> str:
    async with sessions.global_reader() as db:
        tenant = await db.get(models.Tenant, member.tenant_id)
    assert tenant is not None
    return tenant.slug


@pytest.mark.usefixtures("environment")
async def test_suspend_then_activate(
    gql: GraphQLClient,
    members: Members,
    sessions: SessionFactory,
    capsys: pytest.CaptureFixture[str],
) -> None:
    # given
    owner = await members.tenant()
    slug = await slug_of(sessions, owner)
    for _ in range(2):  # with Redis, the second is checked from the cache
        assert (await gql.ok(VIEWER_ROLE, as_=owner))["viewer"]["role"] == "OWNER"
    # when
    assert await tenantflow("tenant", "suspend", slug) == 0
    # then
    assert f"tenant {slug}: SUSPENDED, plan FREE" in capsys.readouterr().out
    refused = await gql.ok(RENAME, as_=owner)
    assert refused["updateTenant"]["__typename"] == "TenantSuspendedError"
    # when
    assert await tenantflow("tenant", "activate", slug) == 0
    # then
    renamed = await gql.ok(RENAME, as_=owner)
    assert renamed["updateTenant"]["__typename"] == "TenantPayload"
    rows = await audit_rows(sessions, owner.tenant_id, "tenant.update")
    assert [(r.actor_user_id, r.details) for r in rows[:2]] == [
        (None, {"status": {"before": "ACTIVE", "after": "SUSPENDED"}, "by": "operator"}),
        (None, {"status": {"before": "SUSPENDED", "after": "ACTIVE"}, "by": "operator"}),
    ]
    assert rows[2].actor_user_id == owner.user_id  # the rename


@pytest.mark.usefixtures("environment")
async def test_activate_ends_a_trial(
    gql: GraphQLClient, members: Members, sessions: SessionFactory
) -> None:
    owner = await members.tenant(plan=Plan.PRO, status=TenantStatus.TRIAL)
    async with sessions.global_transaction() as db:
        await db.exec(
            update(models.Tenant)
            .where(col(models.Tenant.id) == owner.tenant_id)
            .values(trial_ends_at=utcnow() - timedelta(days=1))
        )
    data = await gql.ok("{ tenant { status } }", as_=owner)
    assert data["tenant"]["status"] == "SUSPENDED"
    assert await tenantflow("tenant", "activate", await slug_of(sessions, owner)) == 0
    data = await gql.ok("{ tenant { status plan trialEndsAt } }", as_=owner)
    assert data["tenant"] == {"status": "ACTIVE", "plan": "PRO", "trialEndsAt": None}


@pytest.mark.usefixtures("environment")
async def test_set_plan_is_the_way_to_enterprise(
    gql: GraphQLClient, members: Members, sessions: SessionFactory
) -> None:
    owner = await members.tenant()
    assert await tenantflow("tenant", "set-plan", await slug_of(sessions, owner), "enterprise") == 0
    data = await gql.ok("{ tenant { plan status usage { limits { members } } } }", as_=owner)
    assert data["tenant"] == {
        "plan": "ENTERPRISE",
        "status": "ACTIVE",
        "usage": {"limits": {"members": None}},
    }


@pytest.mark.usefixtures("environment")
async def test_unknown_and_deleted_tenants_are_refused(
    members: Members, sessions: SessionFactory, capsys: pytest.CaptureFixture[str]
) -> None:
    owner = await members.tenant(status=TenantStatus.DELETED)
    for slug in ("no-such-tenant", await slug_of(sessions, owner)):
        assert await tenantflow("tenant", "activate", slug) == 2
        assert f"no tenant with the slug {slug!r}" in capsys.readouterr().err
    async with sessions.global_reader() as db:
        tenant = await db.get(models.Tenant, owner.tenant_id)
    assert tenant is not None
    assert tenant.status is TenantStatus.DELETED


@pytest.mark.usefixtures("environment")
async def test_an_unknown_plan_is_a_usage_error(members: Members, sessions: SessionFactory) -> None:
    owner = await members.tenant()
    with pytest.raises(SystemExit) as exited:
        await tenantflow("tenant", "set-plan", await slug_of(sessions, owner), "PLATINUM")
    assert exited.value.code == 2
