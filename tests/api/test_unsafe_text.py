"""NUL characters and unpaired surrogates are bad input wherever a string can go, never a 500.

On main before this check, a NUL in the audit filter, a tenant's address or a login's email
reached PostgreSQL (which stores no NUL) and answered INTERNAL_SERVER_ERROR.
"""

from __future__ import annotations

import json
from typing import Any

import pytest
from starlette.types import ASGIApp

from tests.api.conftest import GraphQLClient, Members, error_codes
from tests.api.websocket import graphql_ws

AUDIT_LOGS = """
query($filter: AuditLogFilter) { auditLogs(filter: $filter) { totalCount } }
"""
UPDATE_TENANT = """
mutation($input: UpdateTenantInput!) { updateTenant(input: $input) { __typename } }
"""
LOG_IN = """
mutation($input: LogInInput!) { logIn(input: $input) { __typename } }
"""
CREATE_WORKFLOW = """
mutation($input: CreateWorkflowInput!) { createWorkflow(input: $input) { __typename } }
"""
NUL = "a\x00b"

CASES: list[tuple[str, str, dict[str, Any]]] = [
    ("audit filter action", AUDIT_LOGS, {"filter": {"action": NUL}}),
    ("audit filter resourceType", AUDIT_LOGS, {"filter": {"resourceType": NUL}}),
    ("tenant address", UPDATE_TENANT, {"input": {"settings": {"address": NUL}}}),
    ("login email", LOG_IN, {"input": {"email": f"{NUL}@example.test", "password": "x" * 12}}),
    (
        "deep inside a JSON definition",
        CREATE_WORKFLOW,
        {
            "input": {
                "name": "Flow",
                "definition": {"nodes": [{"id": "n", "type": "noop", "config": {"k": [NUL]}}]},
            }
        },
    ),
    ("a JSON object key", CREATE_WORKFLOW, {"input": {"name": "F", "definition": {NUL: 1}}}),
]


@pytest.mark.parametrize(("where", "query", "variables"), CASES, ids=[c[0] for c in CASES])
async def test_a_nul_in_a_variable_is_bad_user_input(
    gql: GraphQLClient, members: Members, where: str, query: str, variables: dict[str, Any]
) -> None:
    owner = await members.tenant()
    body = await gql.execute(query, variables, as_=owner)
    assert error_codes(body) == ["BAD_USER_INPUT"], (where, body)
    assert "data" not in body  # refused before anything ran


async def test_a_nul_in_a_string_literal_is_bad_user_input(
    gql: GraphQLClient, members: Members
) -> None:
    owner = await members.tenant()
    body = await gql.execute(
        '{ auditLogs(filter: {action: "a\\u0000b"}) { totalCount } }', as_=owner
    )
    assert error_codes(body) == ["BAD_USER_INPUT"], body


async def test_the_refusal_is_400_for_graphql_response_json(
    gql: GraphQLClient, members: Members
) -> None:
    owner = await members.tenant()
    response = await gql.http.post(
        "/graphql",
        json={"query": AUDIT_LOGS, "variables": {"filter": {"action": NUL}}},
        headers={**owner.headers, "accept": "application/graphql-response+json"},
    )
    assert response.status_code == 400
    assert error_codes(response.json()) == ["BAD_USER_INPUT"]


async def test_an_unpaired_surrogate_is_refused_without_a_500(
    gql: GraphQLClient, members: Members
) -> None:
    owner = await members.tenant()
    # JSON may spell one as an escape; the server's JSON reader refuses it before GraphQL.
    variables = json.dumps({"filter": {"action": "a\ud800"}})
    response = await gql.http.post(
        "/graphql",
        content=f'{{"query": {json.dumps(AUDIT_LOGS)}, "variables": {variables}}}',
        headers={**owner.headers, "content-type": "application/json"},
    )
    assert response.status_code == 400
    assert error_codes(response.json()) == ["BAD_USER_INPUT"]
    # and as a GraphQL string literal escape, the parser refuses it
    body = await gql.execute(
        '{ auditLogs(filter: {action: "a\\ud800"}) { totalCount } }', as_=owner
    )
    assert error_codes(body) == ["BAD_USER_INPUT"], body


async def test_a_nul_over_the_websocket_is_bad_user_input(app: ASGIApp, members: Members) -> None:
    owner = await members.tenant()
    async with graphql_ws(app) as ws:
        assert (await ws.init(owner.token))["type"] == "connection_ack"
        await ws.subscribe(
            "subscription($w: ID) { executionEvents(workflowId: $w) { status } }", {"w": NUL}
        )
        message = await ws.receive()
    assert message["type"] == "error", message
    assert [e["extensions"]["code"] for e in message["payload"]] == ["BAD_USER_INPUT"]
