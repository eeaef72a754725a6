"""Production answers no introspection and no "Did you mean …?", unless told to."""

from __future__ import annotations

from typing import Any

from tenantflow.settings import Settings
from tests.api.conftest import Members, error_codes
from tests.api.websocket import graphql_ws
from tests.protection.conftest import client_of, running

INTROSPECTION = "{ __schema { queryType { name } } }"
TYPO = "{ viewr { role } }"


async def ask(settings: Settings, query: str, **overrides: Any) -> dict[str, Any]:
    async with running(settings, **overrides) as served, client_of(served.app) as gql:
        return await gql.execute(query)


async def test_production_refuses_introspection_and_suggests_nothing(settings: Settings) -> None:
    body = await ask(settings, INTROSPECTION, env="production")
    assert "data" not in body
    assert set(error_codes(body)) == {"BAD_USER_INPUT"}
    assert "introspection" in body["errors"][0]["message"].lower()
    typo = await ask(settings, TYPO, env="production")
    assert typo["errors"][0]["message"] == "Cannot query field 'viewr' on type 'Query'."


async def test_production_hides_suggestions_over_the_websocket_too(
    settings: Settings, members: Members
) -> None:
    member = await members.tenant()
    async with running(settings, env="production") as served, graphql_ws(served.app) as socket:
        await socket.init(member.token)
        await socket.subscribe(TYPO)
        message = await socket.receive()
    assert message["type"] == "error"
    assert "Did you mean" not in message["payload"][0]["message"]


async def test_introspection_can_be_turned_on_in_production(settings: Settings) -> None:
    body = await ask(settings, INTROSPECTION, env="production", introspection=True)
    assert body["data"] == {"__schema": {"queryType": {"name": "Query"}}}


async def test_development_introspects_and_suggests(settings: Settings) -> None:
    body = await ask(settings, INTROSPECTION)
    assert body["data"] == {"__schema": {"queryType": {"name": "Query"}}}
    typo = await ask(settings, TYPO)
    assert "Did you mean 'viewer'?" in typo["errors"][0]["message"]
    off = await ask(settings, INTROSPECTION, introspection=False)
    assert set(error_codes(off)) == {"BAD_USER_INPUT"}
