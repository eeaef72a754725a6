"""The application shell: health, readiness, request ids, GraphQL served, unsafe roles refused."""

from __future__ import annotations

import asyncio
from pathlib import Path

import httpx
import pytest
from asgi_lifespan import LifespanManager

from tenantflow.app import build_app
from tenantflow.db import migrate
from tenantflow.db.role_check import UnsafeDatabaseRoleError
from tenantflow.settings import Settings
from tests.pg_deployments import PostgresDatabase


async def test_healthz_answers(client: httpx.AsyncClient) -> None:
    response = await client.get("/healthz")
    assert response.status_code == 200
    assert response.json() == {"status": "ok"}


async def test_readyz_answers_when_migrations_are_at_head(client: httpx.AsyncClient) -> None:
    response = await client.get("/readyz")
    assert response.status_code == 200
    assert response.json() == {"status": "ready"}


async def test_readyz_refuses_while_migrations_are_pending(tmp_path: Path) -> None:
    url = f"sqlite+aiosqlite:///{tmp_path / 'behind.db'}"
    await asyncio.to_thread(migrate.upgrade, url, "0001")
    app = build_app(Settings(database_url=url, data_dir=tmp_path, executor_workers=0))
    async with LifespanManager(app) as manager:
        transport = httpx.ASGITransport(app=manager.app)
        async with httpx.AsyncClient(transport=transport, base_url="http://t") as http:
            response = await http.get("/readyz")
    assert response.status_code == 503
    assert response.json() == {"status": "migrations pending"}


async def test_every_response_carries_a_request_id(client: httpx.AsyncClient) -> None:
    fresh = await client.get("/healthz")
    assert len(fresh.headers["x-request-id"]) == 32
    echoed = await client.get("/healthz", headers={"X-Request-ID": "abc-123.def"})
    assert echoed.headers["x-request-id"] == "abc-123.def"
    # an id that could smuggle something into logs or headers is replaced
    insane = await client.get("/healthz", headers={"X-Request-ID": "a b\tc" + "x" * 200})
    assert insane.headers["x-request-id"] != "a b\tc" + "x" * 200
    assert len(insane.headers["x-request-id"]) == 32


async def test_graphql_is_served(client: httpx.AsyncClient) -> None:
    response = await client.post("/graphql", json={"query": "{ __typename }"})
    assert response.status_code == 200
    assert response.json() == {"data": {"__typename": "Query"}, "extensions": {"cost": 1}}


async def test_request_bodies_over_one_mebibyte_are_refused(client: httpx.AsyncClient) -> None:
    body = '{"query": "{ __typename }", "pad": "' + "x" * (1024 * 1024) + '"}'
    response = await client.post(
        "/graphql", content=body, headers={"content-type": "application/json"}
    )
    assert response.status_code == 413
    assert response.json()["errors"][0]["extensions"]["code"] == "BAD_USER_INPUT"


@pytest.mark.postgresql
async def test_server_refuses_to_start_as_the_table_owner(
    clean_postgres: PostgresDatabase, tmp_path: Path
) -> None:
    settings = Settings(
        database_url=clean_postgres.owner_url,
        migration_database_url=clean_postgres.owner_url,
        data_dir=tmp_path,
        executor_workers=0,
    )
    with pytest.raises(UnsafeDatabaseRoleError, match="owns the tables"):
        async with LifespanManager(build_app(settings)):
            pass


async def test_refused_requests_carry_a_contract_error_code(client: httpx.AsyncClient) -> None:
    for payload in (
        {"query": "{ nope }"},  # validation
        {"query": "{"},  # parse
        {"query": "query($id: ID!) { node(id: $id) { id } }", "variables": {"id": 5.5}},
        [{"query": "{ __typename }"}],  # a batch: refused before GraphQL sees it
    ):
        response = await client.post("/graphql", json=payload)
        errors = response.json()["errors"]
        assert [e["extensions"]["code"] for e in errors] == ["BAD_USER_INPUT"] * len(errors)
