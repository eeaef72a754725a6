"""Every connection of the API, held to the same rules.

For each: paging forwards and backwards gives the same rows in the same order; rows inserted
between pages neither repeat a row nor skip one that existed when paging began; pageInfo says
where the ends are; totalCount counts the rows.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

import pytest

from tenantflow.enums import Plan
from tests.api.conftest import GraphQLClient, Member, Members

PAGE = """
  totalCount
  edges { cursor node { id } }
  pageInfo { hasNextPage hasPreviousPage startCursor endCursor }
"""
ARGS = "first: $first, after: $after, last: $last, before: $before"
VARS = "$first: Int, $after: String, $last: Int, $before: String"
DEFINITION = {"nodes": [{"id": "a", "type": "noop", "config": {}}], "edges": []}


@dataclass
class World:
    gql: GraphQLClient
    members: Members
    owner: Member
    workflow_id: str = ""
    counter: int = 0

    async def ok(self, query: str, variables: dict[str, Any]) -> dict[str, Any]:
        return await self.gql.ok(query, variables, as_=self.owner)

    def next_name(self) -> str:
        self.counter += 1
        return f"row {self.counter:03d}"


async def add_workflow(world: World) -> None:
    await world.ok(
        "mutation($i: CreateWorkflowInput!) { createWorkflow(input: $i) { __typename } }",
        {"i": {"name": world.next_name(), "definition": DEFINITION}},
    )


async def add_execution(world: World) -> None:
    await world.ok(
        "mutation($i: RunWorkflowInput!) { runWorkflow(input: $i) { __typename } }",
        {"i": {"workflowId": world.workflow_id}},
    )


async def add_deployment(world: World) -> None:
    await world.ok(
        "mutation($i: CreateDeploymentInput!) { createDeployment(input: $i) { __typename } }",
        {
            "i": {
                "workflowId": world.workflow_id,
                "name": world.next_name(),
                "environment": "STAGING",
            }
        },
    )


async def add_provider_key(world: World) -> None:
    await world.ok(
        "mutation($i: CreateProviderKeyInput!) { createProviderKey(input: $i) { __typename } }",
        {"i": {"provider": "openai", "name": world.next_name(), "secret": "sk-abcdefghijklmnop"}},
    )


async def add_api_key(world: World) -> None:
    await world.ok(
        "mutation($i: CreateApiKeyInput!) { createApiKey(input: $i) { __typename } }",
        {"i": {"name": world.next_name(), "role": "VIEWER"}},
    )


async def add_invitation(world: World) -> None:
    await world.ok(
        "mutation($i: InviteMemberInput!) { inviteMember(input: $i) { __typename } }",
        {"i": {"email": f"{world.next_name().replace(' ', '-')}@example.test", "role": "VIEWER"}},
    )


async def add_member(world: World) -> None:
    await world.members.member(world.owner.tenant_id)


@dataclass(frozen=True)
class Case:
    name: str
    # The query: `{connection}` is replaced by the connection field with its paging arguments.
    query: str
    path: tuple[str, ...]
    add: Callable[[World], Awaitable[None]]

    def operation(self) -> str:
        return self.query.replace("{connection}", f"({ARGS}) {{ {PAGE} }}")


CASES = [
    Case("workflows", f"query({VARS}) {{ workflows{{connection}} }}", ("workflows",), add_workflow),
    Case(
        "executions",
        f"query({VARS}) {{ executions{{connection}} }}",
        ("executions",),
        add_execution,
    ),
    Case(
        "deployments",
        f"query({VARS}) {{ deployments{{connection}} }}",
        ("deployments",),
        add_deployment,
    ),
    Case(
        "providerKeys",
        f"query({VARS}) {{ providerKeys{{connection}} }}",
        ("providerKeys",),
        add_provider_key,
    ),
    Case("apiKeys", f"query({VARS}) {{ apiKeys{{connection}} }}", ("apiKeys",), add_api_key),
    # Every mutation above writes an audit row: adding a workflow adds one.
    Case("auditLogs", f"query({VARS}) {{ auditLogs{{connection}} }}", ("auditLogs",), add_workflow),
    Case(
        "tenant.members",
        f"query({VARS}) {{ tenant {{ members{{connection}} }} }}",
        ("tenant", "members"),
        add_member,
    ),
    Case(
        "tenant.invitations",
        f"query({VARS}) {{ tenant {{ invitations{{connection}} }} }}",
        ("tenant", "invitations"),
        add_invitation,
    ),
    Case(
        "Workflow.executions",
        f"query($id: ID!, {VARS}) {{ workflow(id: $id) {{ executions{{connection}} }} }}",
        ("workflow", "executions"),
        add_execution,
    ),
    Case(
        "Workflow.deployments",
        f"query($id: ID!, {VARS}) {{ workflow(id: $id) {{ deployments{{connection}} }} }}",
        ("workflow", "deployments"),
        add_deployment,
    ),
]


async def fetch(world: World, case: Case, **page: Any) -> dict[str, Any]:
    variables = {"first": None, "after": None, "last": None, "before": None, **page}
    if "$id" in case.query:
        variables["id"] = world.workflow_id
    data = await world.ok(case.operation(), variables)
    for key in case.path:
        data = data[key]
    return data


def ids_of(connection: dict[str, Any]) -> list[str]:
    return [edge["node"]["id"] for edge in connection["edges"]]


async def walk(world: World, case: Case, *, forward: bool, insert_between: bool) -> list[str]:
    """Every row, two per page, in the connection's order; optionally adding a row between pages."""
    seen: list[str] = []
    cursor: str | None = None
    pages = 0
    while True:
        if forward:
            connection = await fetch(world, case, first=2, after=cursor)
            seen.extend(ids_of(connection))
            more, cursor = (
                connection["pageInfo"]["hasNextPage"],
                connection["pageInfo"]["endCursor"],
            )
        else:
            connection = await fetch(world, case, last=2, before=cursor)
            seen[:0] = ids_of(connection)
            more = connection["pageInfo"]["hasPreviousPage"]
            cursor = connection["pageInfo"]["startCursor"]
        pages += 1
        assert pages < 50, "paging did not end"
        if not more:
            return seen
        if insert_between:
            await case.add(world)


@pytest.mark.parametrize("case", [pytest.param(c, id=c.name) for c in CASES])
async def test_connection_pages_both_ways_without_repeats_or_gaps(
    gql: GraphQLClient, members: Members, case: Case
) -> None:
    # given a tenant with no limits, one workflow, and five rows of the connection
    owner = await members.tenant(plan=Plan.ENTERPRISE)
    world = World(gql, members, owner)
    created = await world.ok(
        "mutation($i: CreateWorkflowInput!) { createWorkflow(input: $i)"
        " { ... on WorkflowPayload { workflow { id } } } }",
        {"i": {"name": "parent", "definition": DEFINITION}},
    )
    world.workflow_id = created["createWorkflow"]["workflow"]["id"]
    for _ in range(5):
        await case.add(world)
    everything = await fetch(world, case, first=100)
    before = ids_of(everything)
    assert len(before) >= 5
    assert everything["totalCount"] == len(before)
    assert everything["pageInfo"]["hasPreviousPage"] is False
    assert everything["pageInfo"]["hasNextPage"] is False

    # then two rows a page, forwards and backwards, give the same rows in the same order
    assert await walk(world, case, forward=True, insert_between=False) == before
    assert await walk(world, case, forward=False, insert_between=False) == before

    # and with rows inserted between pages, nothing repeats and nothing that existed is skipped
    for forward in (True, False):
        seen = await walk(world, case, forward=forward, insert_between=True)
        assert len(seen) == len(set(seen)), "a row was repeated"
        assert set(before) <= set(seen), "a row that existed was skipped"
