"""Query limits refuse an operation before any of its SQL runs, over HTTP and the websocket.

"Before any SQL runs" is counted: the application's statements while a refused operation is
answered are those of reading the credentials alone (what `{ __typename }` costs with the same
token), and none at all over a websocket whose credentials were read at connection_init.
"""

from __future__ import annotations

from typing import Any
from unittest.mock import ANY

import httpx
import pytest
from starlette.types import ASGIApp

from tenantflow.db.session import SessionFactory
from tenantflow.enums import Plan
from tests.api.conftest import GraphQLClient, Member, Members, error_codes
from tests.api.test_dashboard_statements import DASHBOARD, StatementCounter
from tests.api.websocket import graphql_ws

AUDIT_PAGE = "auditLogs(first: 100) { edges { node { id action } } }"


def deep_query(depth: int) -> str:
    """A query `depth` fields deep (`viewer` does not nest, so an unknown field does: validation
    would refuse it, and the limit must refuse it first)."""
    return "{ " + "a { " * (depth - 1) + "b" + " }" * (depth - 1) + " }"


ATTACKS: dict[str, tuple[str, str]] = {
    # name: (document, the limit that refuses it)
    "50 deep": (deep_query(50), "depth"),
    "1,000 aliases": ("{ " + " ".join(f"a{i}: __typename" for i in range(1000)) + " }", "aliases"),
    "1,000 aliased audit pages": (
        "{ " + " ".join(f"a{i}: {AUDIT_PAGE}" for i in range(1000)) + " }",
        "tokens",
    ),
    "300,000 tokens": ("{ " + "a " * 300_000 + "}", "tokens"),
    "50,000 directives": ("{ viewer " + "@include(if: true) " * 50_000 + "{ role } }", "tokens"),
    "6 directives on a field": (
        "{ viewer " + "@include(if: true) " * 6 + "{ role } }",
        "directives",
    ),
    "too costly": (
        "{ workflows(first: 100) { edges { node { executions(first: 100) { edges { node { id } } }"
        " } } } }",
        "cost",
    ),
}


@pytest.fixture
def counter(sessions: SessionFactory) -> StatementCounter:
    return StatementCounter(sessions.engine.sync_engine)


async def post(client: httpx.AsyncClient, query: str, member: Member) -> httpx.Response:
    return await client.post("/graphql", json={"query": query}, headers=member.headers)


@pytest.mark.parametrize("attack", list(ATTACKS))
async def test_an_attack_is_refused_over_http_before_its_sql(
    attack: str,
    client: httpx.AsyncClient,
    members: Members,
    counter: StatementCounter,
) -> None:
    # given a member, and what reading their credentials costs (once the process has looked
    # the tenant's slug up for its metrics label)
    document, limit = ATTACKS[attack]
    member = await members.tenant(plan=Plan.ENTERPRISE)
    await post(client, "{ __typename }", member)
    with counter.listening():
        with counter.count() as baseline:
            assert (await post(client, "{ __typename }", member)).status_code == 200
        # when
        with counter.count() as statements:
            response = await post(client, document, member)
    # then
    body = response.json()
    assert response.status_code == 200, body
    assert "data" not in body
    assert body["errors"] == [
        {
            "message": body["errors"][0]["message"],
            "extensions": {
                "code": "QUERY_TOO_COMPLEX",
                "limit": limit,
                "max": body["errors"][0]["extensions"]["max"],
            },
        }
    ]
    assert len(statements) == len(baseline), statements


@pytest.mark.parametrize("attack", list(ATTACKS))
async def test_an_attack_is_refused_over_the_websocket_before_its_sql(
    attack: str, app: ASGIApp, members: Members, counter: StatementCounter
) -> None:
    # given an acknowledged socket
    document, limit = ATTACKS[attack]
    member = await members.tenant(plan=Plan.ENTERPRISE)
    async with graphql_ws(app) as socket:
        assert (await socket.init(member.token))["type"] == "connection_ack"
        with counter.listening(), counter.count() as statements:
            # when
            operation = await socket.subscribe(document)
            message = await socket.receive()
        # then: an `error` message for that operation, and the socket stays usable
        assert message["type"] == "error", message
        assert message["id"] == operation
        extensions = [error["extensions"] for error in message["payload"]]
        assert extensions == [{"code": "QUERY_TOO_COMPLEX", "limit": limit, "max": ANY}]
        assert statements == []
        follow_up = await socket.subscribe("{ viewer { role } }")
        assert (await socket.receive())["id"] == follow_up


async def test_the_limit_names_its_maximum(gql: GraphQLClient, members: Members) -> None:
    member = await members.tenant()
    body = await gql.execute(deep_query(16), as_=member)
    assert body["errors"][0]["extensions"] == {
        "code": "QUERY_TOO_COMPLEX",
        "limit": "depth",
        "max": 15,
    }


async def test_the_dashboard_runs_within_the_default_limits_and_reports_its_cost(
    gql: GraphQLClient, members: Members
) -> None:
    member = await members.tenant(plan=Plan.FREE)
    for first, cost in ((50, 300), (5, 30)):
        body = await gql.execute(DASHBOARD, {"first": first}, as_=member)
        assert "errors" not in body, body
        # 50 workflows and their 5 executions each: 50 + 50 x 5
        assert body["extensions"] == {"cost": cost}


async def test_costs_count_connections_inside_connections(
    gql: GraphQLClient, members: Members
) -> None:
    member = await members.tenant(plan=Plan.ENTERPRISE)
    cases: list[tuple[str, dict[str, Any], int]] = [
        ("{ viewer { role } }", {}, 1),
        ("{ workflows { totalCount } }", {}, 20),
        ("query($n: Int) { workflows(first: $n) { totalCount } }", {"n": 7}, 7),
        (
            "{ a: workflows(first: 10) { edges { node { executions(last: 3) { totalCount } } } }"
            " b: deployments(first: 2) { totalCount } }",
            {},
            10 + 10 * 3 + 2,
        ),
        (
            "query { workflows(first: 4) { ...W } } fragment W on WorkflowConnection"
            " { edges { node { executions { totalCount } } } }",
            {},
            4 + 4 * 20,
        ),
    ]
    for query, variables, cost in cases:
        body = await gql.execute(query, variables, as_=member)
        assert "errors" not in body, (query, body)
        assert body["extensions"]["cost"] == cost, query


async def test_fragments_that_double_are_refused_without_being_expanded(
    gql: GraphQLClient, members: Members
) -> None:
    # 40 fragments each spreading the next twice: 2^40 workflows pages if expanded
    member = await members.tenant()
    fragments = [
        f"fragment F{i} on Query {{ ...F{i + 1} a{i}: workflows(first: 1) {{ totalCount }}"
        f" ...F{i + 1} }}"
        for i in range(40)
    ]
    fragments.append("fragment F40 on Query { workflows(first: 1) { totalCount } }")
    body = await gql.execute("query { ...F0 } " + " ".join(fragments), as_=member)
    assert error_codes(body) == ["QUERY_TOO_COMPLEX"]
    assert body["errors"][0]["extensions"]["limit"] in {"aliases", "cost"}
