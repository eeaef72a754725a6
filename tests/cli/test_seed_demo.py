"""`tenantflow seed-demo`: a history worth looking at, seen through the API, and a second run that
changes nothing."""

from __future__ import annotations

import asyncio
import re
from collections import Counter

import httpx
import pytest
import sqlalchemy as sa
from sqlalchemy.ext.asyncio import create_async_engine
from sqlmodel import SQLModel

from tenantflow import cli
from tenantflow.demo.content import DEMO_PASSWORD, DEMO_QUERY
from tenantflow.settings import Settings
from tests.api.conftest import GraphQLClient
from tests.pg_deployments import PostgresDatabase

LOG_IN = """
mutation($email: String!, $password: String!, $slug: String) {
  logIn(input: {email: $email, password: $password, tenantSlug: $slug}) {
    __typename ... on AuthPayload { accessToken }
  }
}
"""
AUDIT = "query { auditLogs(first: 100) { edges { node { action actor { id } } } } }"


@pytest.fixture
def gql(client: httpx.AsyncClient) -> GraphQLClient:
    return GraphQLClient(client)


@pytest.fixture
def environment(settings: Settings, monkeypatch: pytest.MonkeyPatch) -> None:
    """The command reads its settings from the environment, as an operator's shell has them."""
    monkeypatch.setenv("TENANTFLOW_DATABASE_URL", settings.database_url)
    monkeypatch.setenv("TENANTFLOW_MIGRATION_DATABASE_URL", settings.owner_database_url)
    monkeypatch.setenv("TENANTFLOW_DATA_DIR", str(settings.data_dir))
    monkeypatch.setenv("TENANTFLOW_SECRET_KEY", settings.signing_key)
    monkeypatch.setenv("TENANTFLOW_ENCRYPTION_KEYS", ",".join(settings.master_keys))


@pytest.fixture
def superuser_url(backend: str, settings: Settings, request: pytest.FixtureRequest) -> str:
    """A connection that sees every tenant's rows (row level security does not apply to it)."""
    if backend == "postgresql":
        database: PostgresDatabase = request.getfixturevalue("clean_postgres")
        return database.admin_url
    return settings.database_url


async def row_counts(url: str) -> dict[str, int]:
    engine = create_async_engine(url)
    try:
        async with engine.connect() as connection:
            return {
                table.name: int(
                    (
                        await connection.execute(sa.select(sa.func.count()).select_from(table))
                    ).scalar_one()
                )
                for table in SQLModel.metadata.sorted_tables
            }
    finally:
        await engine.dispose()


async def seed(capsys: pytest.CaptureFixture[str]) -> str:
    code = await asyncio.to_thread(cli.main, ["seed-demo"])  # it runs an event loop of its own
    out = capsys.readouterr().out
    assert code == 0, out
    return out


async def token(gql: GraphQLClient, email: str, slug: str) -> str:
    variables = {"email": email, "password": DEMO_PASSWORD, "slug": slug}
    result = (await gql.ok(LOG_IN, variables))["logIn"]
    assert result["__typename"] == "AuthPayload", result
    access: str = result["accessToken"]
    return access


def printed_query(out: str) -> str:
    """The query the output tells a newcomer to paste into GraphiQL."""
    block = re.search(r"Headers tab and run:\n((?:  .*\n)+)", out)
    assert block is not None, out
    return "\n".join(line.removeprefix("  ") for line in block.group(1).splitlines())


@pytest.mark.usefixtures("environment")
async def test_seed_demo_leaves_a_history_in_every_status_and_how_to_see_it(
    gql: GraphQLClient, capsys: pytest.CaptureFixture[str]
) -> None:
    # when
    out = await seed(capsys)
    # then it says how to log in, and the query it prints runs for the login it prints
    assert "alice@acme.test  password: demo-password-1" in out
    assert 'logIn(input: {email: "alice@acme.test", password: "demo-password-1"' in out
    assert printed_query(out) == DEMO_QUERY
    assert "/graphql?query=query%20Demo" in out
    alice = await token(gql, "alice@acme.test", "acme")
    data = await gql.ok(printed_query(out), token=alice)
    assert data["viewer"]["tenant"]["name"] == "Acme Corp"
    workflows = {edge["node"]["name"]: edge["node"] for edge in data["workflows"]["edges"]}
    assert data["workflows"]["totalCount"] == 6
    assert {w["status"] for w in workflows.values()} == {"ACTIVE", "DRAFT", "ARCHIVED"}
    # executions in every status, with their steps and outputs
    executions = [edge["node"] for w in workflows.values() for edge in w["executions"]["edges"]]
    assert Counter(e["status"] for e in executions) == {
        "SUCCEEDED": 2,
        "FAILED": 1,
        "CANCELLED": 1,
        "RUNNING": 1,
        "QUEUED": 1,
    }
    by_status = {e["status"]: e for e in executions}
    assert by_status["SUCCEEDED"]["output"]["synced"] is True
    assert by_status["FAILED"]["error"] == "Customer has no email address"
    assert {"nodeId": "gather", "status": "CANCELLED"} in by_status["CANCELLED"]["steps"]
    assert {"nodeId": "gather", "status": "RUNNING"} in by_status["RUNNING"]["steps"]
    assert by_status["QUEUED"]["steps"] == []
    # deployments in every state, modules on
    deployments = [edge["node"]["status"] for edge in data["deployments"]["edges"]]
    assert sorted(deployments) == ["DEPLOYING", "FAILED", "LIVE", "PENDING", "STOPPED"]
    assert {m["key"] for m in data["modules"] if m["enabled"]} == {
        "analytics",
        "reporting",
        "billing",
        "invoicing",
    }
    # a provider key, and the audit rows all of it left
    keys = await gql.ok("{ providerKeys { edges { node { name maskedKey } } } }", token=alice)
    assert [e["node"]["name"] for e in keys["providerKeys"]["edges"]] == ["OpenAI (demo)"]
    audit = (await gql.ok(AUDIT, token=alice))["auditLogs"]["edges"]
    actions = Counter(edge["node"]["action"] for edge in audit)
    assert actions["workflow.create"] == 6
    assert actions["execution.run"] == 6
    assert actions["execution.cancel"] == 1
    assert actions["deployment.create"] == 5
    assert actions["module.enable"] == 4
    assert actions["provider_key.create"] == 1
    assert actions["tenant.update"] == 1  # the settings the billing module needs


@pytest.mark.usefixtures("environment")
async def test_each_tenant_sees_only_its_own_demo(
    gql: GraphQLClient, capsys: pytest.CaptureFixture[str]
) -> None:
    await seed(capsys)
    names = "{ workflows { edges { node { name } } } executions { totalCount } }"
    carol = await token(gql, "carol@globex.test", "globex")
    globex = await gql.ok(names, token=carol)
    assert [e["node"]["name"] for e in globex["workflows"]["edges"]] == ["Welcome email"]
    assert globex["executions"]["totalCount"] == 1
    bob = await token(gql, "bob@acme.test", "acme")
    acme = await gql.ok(names, token=bob)
    assert "Welcome email" not in [e["node"]["name"] for e in acme["workflows"]["edges"]]
    assert acme["executions"]["totalCount"] == 6
    # alice belongs to both, and each of her tokens sees one tenant
    alice_in_globex = await token(gql, "alice@acme.test", "globex")
    assert await gql.ok(names, token=alice_in_globex) == globex


@pytest.mark.usefixtures("environment")
async def test_running_it_again_changes_nothing(
    capsys: pytest.CaptureFixture[str], superuser_url: str
) -> None:
    # given a seeded database
    await seed(capsys)
    before = await row_counts(superuser_url)
    # when
    out = await seed(capsys)
    # then
    assert "tenant acme: already there\n" in out
    assert "tenant globex: already there\n" in out
    assert await row_counts(superuser_url) == before
    assert before["executions"] == 7
    assert before["audit_logs"] > 30
