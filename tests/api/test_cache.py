"""No cache is ever visible (contract, "Transport"): a client reads its own write at once, a write
is seen by every later request of its tenant in every process, no request sees another tenant's
or another role's answer, and revocation is never delayed.

Each test runs with the in-process store and with Redis (on SQLite and PostgreSQL); the tests of
several processes share one Redis, as the contract requires of several processes. That the cache
was used at all is read from the hit counters of /metrics' registry: equal answers alone would
also hold without a cache.
"""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager, contextmanager
from typing import Any

import httpx
import pytest
from asgi_lifespan import LifespanManager
from prometheus_client import REGISTRY
from sqlmodel import col, select

from tenantflow.app import build_app
from tenantflow.db import models
from tenantflow.db.session import SessionFactory
from tenantflow.enums import Plan, Role
from tenantflow.schema.ids import to_global_id
from tenantflow.settings import Settings
from tests.api.auth_helpers import is_signed_in
from tests.api.conftest import GraphQLClient, Member, Members, error_codes
from tests.api.workflow_helpers import create_workflow
from tests.redis_helpers import REDIS_URL

NAMES = "query Names { workflows(first: 50) { totalCount edges { node { id name } } } }"
RENAME = """
mutation($input: UpdateWorkflowInput!) {
  updateWorkflow(input: $input) { __typename ... on WorkflowPayload { workflow { name } } }
}
"""
ROLE = "{ viewer { role user { email } } }"
UPDATE_ROLE = """
mutation($userId: ID!, $role: Role!) {
  updateMemberRole(userId: $userId, role: $role) { __typename }
}
"""
REMOVE_MEMBER = "mutation($id: ID!) { removeMember(userId: $id) { __typename } }"


@pytest.fixture(params=["memory", "redis"])
def store(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture
def settings(settings: Settings, store: str, request: pytest.FixtureRequest) -> Settings:
    """The test server's settings, with the cache in `store`."""
    assert settings.cache
    if store == "memory":
        return settings
    prefix: str = request.getfixturevalue("redis_prefix")
    return settings.model_copy(update={"redis_url": REDIS_URL, "redis_key_prefix": prefix})


def hits(cache: str) -> float:
    return REGISTRY.get_sample_value("tenantflow_cache_hits_total", {"cache": cache}) or 0.0


@contextmanager
def counting(cache: str) -> Iterator[list[float]]:
    """The hits of `cache` while the block ran, in a one-element list set when it ends."""
    before = hits(cache)
    counted: list[float] = []
    yield counted
    counted.append(hits(cache) - before)


@asynccontextmanager
async def another_process(settings: Settings) -> AsyncIterator[GraphQLClient]:
    """A second application on the same database and store, as a second server process."""
    async with LifespanManager(build_app(settings)) as manager:
        transport = httpx.ASGITransport(app=manager.app)
        async with httpx.AsyncClient(transport=transport, base_url="http://second") as http:
            yield GraphQLClient(http)


def names(data: dict[str, Any]) -> list[str]:
    return sorted(edge["node"]["name"] for edge in data["workflows"]["edges"])


async def test_a_repeated_query_is_answered_from_the_cache_and_a_write_is_read_at_once(
    gql: GraphQLClient, members: Members
) -> None:
    # given an answer the cache holds
    owner = await members.tenant(plan=Plan.ENTERPRISE)
    workflow = await create_workflow(gql, owner, name="before")
    first = await gql.ok(NAMES, as_=owner)
    with counting("answers") as answered:
        assert await gql.ok(NAMES, as_=owner) == first
    assert answered == [1.0]
    # when the client writes
    variables = {"input": {"id": workflow["id"], "name": "after"}}
    await gql.ok(RENAME, variables, as_=owner)
    # then its next read has the write, not the kept answer
    assert names(await gql.ok(NAMES, as_=owner)) == ["after"]
    await create_workflow(gql, owner, name="another")
    assert names(await gql.ok(NAMES, as_=owner)) == ["after", "another"]


async def test_answers_never_cross_tenants_or_principals(
    gql: GraphQLClient, members: Members
) -> None:
    a = await members.tenant(plan=Plan.ENTERPRISE)
    b = await members.tenant(plan=Plan.ENTERPRISE)
    viewer = await members.member(a.tenant_id, role=Role.VIEWER)
    await create_workflow(gql, a, name="of a")
    await create_workflow(gql, b, name="of b")
    for _ in range(2):  # the second round is answered from the cache
        assert names(await gql.ok(NAMES, as_=a)) == ["of a"]
        assert names(await gql.ok(NAMES, as_=b)) == ["of b"]
        assert (await gql.ok(ROLE, as_=a))["viewer"] == {
            "role": "OWNER",
            "user": {"email": a.email},
        }
        assert (await gql.ok(ROLE, as_=viewer))["viewer"] == {
            "role": "VIEWER",
            "user": {"email": viewer.email},
        }


async def test_a_changed_role_shows_on_the_next_request(
    gql: GraphQLClient, members: Members
) -> None:
    owner = await members.tenant(plan=Plan.ENTERPRISE)
    member = await members.member(owner.tenant_id, role=Role.VIEWER)
    for _ in range(2):
        assert (await gql.ok(ROLE, as_=member))["viewer"]["role"] == "VIEWER"
    variables = {"userId": str(to_global_id("User", member.user_id)), "role": "EDITOR"}
    assert (await gql.ok(UPDATE_ROLE, variables, as_=owner))["updateMemberRole"] == {
        "__typename": "MemberPayload"
    }
    assert (await gql.ok(ROLE, as_=member))["viewer"]["role"] == "EDITOR"


# Several processes need Redis (contract, Configuration): these run with Redis only.
@pytest.mark.parametrize("store", ["redis"])
async def test_a_write_in_one_process_is_seen_at_once_by_another(
    gql: GraphQLClient, members: Members, settings: Settings
) -> None:
    owner = await members.tenant(plan=Plan.ENTERPRISE)
    workflow = await create_workflow(gql, owner, name="before")
    async with another_process(settings) as second:
        # given both processes answering from the cache
        for client in (gql, second):
            assert names(await client.ok(NAMES, as_=owner)) == ["before"]
        with counting("answers") as answered:
            assert names(await second.ok(NAMES, as_=owner)) == ["before"]
        assert answered == [1.0]
        # when the first writes
        variables = {"input": {"id": workflow["id"], "name": "after"}}
        await gql.ok(RENAME, variables, as_=owner)
        # then the second's very next answer has it
        assert names(await second.ok(NAMES, as_=owner)) == ["after"]


@pytest.mark.parametrize("store", ["redis"])
async def test_revocation_through_a_cached_principal_is_refused_in_another_process(
    gql: GraphQLClient, members: Members, settings: Settings
) -> None:
    owner = await members.tenant(plan=Plan.ENTERPRISE)
    removed = await members.member(owner.tenant_id)
    demoted = await members.member(owner.tenant_id, role=Role.ADMIN)
    async with another_process(settings) as second:
        # given principals the second process checks from the cache
        assert await is_signed_in(second, removed.token)
        assert (await second.ok(ROLE, as_=demoted))["viewer"]["role"] == "ADMIN"
        with counting("principals") as checked:
            assert await is_signed_in(second, removed.token)
            assert (await second.ok(ROLE, as_=demoted))["viewer"]["role"] == "ADMIN"
        assert checked == [2.0]
        # when the first process removes one member and demotes the other
        variables = {"id": str(to_global_id("User", removed.user_id))}
        assert (await gql.ok(REMOVE_MEMBER, variables, as_=owner))["removeMember"] == {
            "__typename": "DeletedPayload"
        }
        demotion = {"userId": str(to_global_id("User", demoted.user_id)), "role": "VIEWER"}
        await gql.ok(UPDATE_ROLE, demotion, as_=owner)
        # then the second refuses the one and demotes the other on their next requests
        assert not await is_signed_in(second, removed.token)
        assert (await second.ok(ROLE, as_=demoted))["viewer"]["role"] == "VIEWER"
        assert await is_signed_in(second, owner.token)


@pytest.mark.parametrize("store", ["redis"])
async def test_an_api_keys_revocation_is_not_delayed_by_the_cache(
    gql: GraphQLClient, members: Members, settings: Settings
) -> None:
    owner = await members.tenant(plan=Plan.ENTERPRISE)
    created = await gql.ok(
        """mutation { createApiKey(input: {name: "ci", role: ADMIN}) {
             ... on CreateApiKeyPayload { secret apiKey { id } } } }""",
        as_=owner,
    )
    secret = created["createApiKey"]["secret"]
    key_id = created["createApiKey"]["apiKey"]["id"]
    async with another_process(settings) as second:
        with counting("principals") as checked:
            # the first notes the key's tenant, the second keeps the principal, the third hits
            for _ in range(3):
                assert await is_signed_in(second, secret)
        assert checked == [1.0]
        revoked = await gql.ok(
            "mutation($id: ID!) { revokeApiKey(id: $id) { __typename } }", {"id": key_id}, as_=owner
        )
        assert revoked["revokeApiKey"]["__typename"] != "NotFoundError"
        assert not await is_signed_in(second, secret)
        assert not await is_signed_in(gql, secret)


@pytest.mark.parametrize("store", ["memory"])  # the broken Redis is this test's own
async def test_a_store_that_fails_is_a_miss_not_an_error(
    members: Members, settings: Settings, sessions: SessionFactory
) -> None:
    broken = settings.model_copy(
        update={"redis_url": "redis://127.0.0.1:1/0", "redis_key_prefix": f"x{uuid.uuid4().hex}"}
    )
    owner = await members.tenant(plan=Plan.ENTERPRISE)
    async with another_process(broken) as client:
        await create_workflow(client, owner, name="served")
        for _ in range(2):
            assert names(await client.ok(NAMES, as_=owner)) == ["served"]
    async with sessions.tenant_reader(owner.tenant_id) as session:
        served = select(models.Workflow).where(col(models.Workflow.name) == "served")
        rows = (await session.exec(served)).all()
    assert len(rows) == 1


async def test_an_error_is_never_kept(gql: GraphQLClient, members: Members) -> None:
    owner: Member = await members.tenant(plan=Plan.ENTERPRISE)
    bad = '{ workflows(after: "not a cursor") { totalCount } }'
    for _ in range(2):
        assert error_codes(await gql.execute(bad, as_=owner)) == ["BAD_USER_INPUT"]
