"""Keyset pagination over every connection of workflows, executions and deployments.

Each connection is paged forwards and backwards in small pages and compared with the order the
contract promises (ties broken by id), also while rows are inserted between pages; then its
filters, its argument checks and its tenant isolation.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import datetime, timedelta
from typing import Any

import pytest
from sqlmodel import col, update

from tenantflow.db import models
from tenantflow.db.session import SessionFactory
from tenantflow.db.types import utcnow
from tenantflow.enums import DeploymentStatus, ExecutionStatus, Plan
from tests.api.conftest import GraphQLClient, Member, Members, error_codes
from tests.api.workflow_helpers import (
    create_deployment,
    create_workflow,
    key_of,
    run_workflow,
    set_deployment_status,
    set_execution,
)

PAGE = "pageInfo { hasNextPage hasPreviousPage startCursor endCursor } totalCount"
WORKFLOWS = f"""
query($first: Int, $after: String, $last: Int, $before: String,
      $filter: WorkflowFilter, $orderBy: WorkflowOrder) {{
  workflows(first: $first, after: $after, last: $last, before: $before,
            filter: $filter, orderBy: $orderBy) {{
    {PAGE} edges {{ cursor node {{ id name status createdAt updatedAt }} }}
  }}
}}
"""
EXECUTIONS = f"""
query($first: Int, $after: String, $last: Int, $before: String, $filter: ExecutionFilter) {{
  executions(first: $first, after: $after, last: $last, before: $before, filter: $filter) {{
    {PAGE} edges {{ cursor node {{ id status queuedAt workflow {{ id }} }} }}
  }}
}}
"""
DEPLOYMENTS = f"""
query($first: Int, $after: String, $last: Int, $before: String, $filter: DeploymentFilter) {{
  deployments(first: $first, after: $after, last: $last, before: $before, filter: $filter) {{
    {PAGE} edges {{ cursor node {{ id name status environment updatedAt workflow {{ id }} }} }}
  }}
}}
"""
WORKFLOW_EXECUTIONS = f"""
query($id: ID!, $first: Int, $after: String, $last: Int, $before: String,
      $filter: ExecutionFilter) {{
  workflow(id: $id) {{
    executions(first: $first, after: $after, last: $last, before: $before, filter: $filter) {{
      {PAGE} edges {{ cursor node {{ id status queuedAt }} }}
    }}
  }}
}}
"""
WORKFLOW_DEPLOYMENTS = f"""
query($id: ID!, $first: Int, $after: String, $last: Int, $before: String) {{
  workflow(id: $id) {{
    deployments(first: $first, after: $after, last: $last, before: $before) {{
      {PAGE} edges {{ cursor node {{ id updatedAt }} }}
    }}
  }}
}}
"""

Node = dict[str, Any]
Between = Callable[[], Awaitable[None]]


def connection_at(data: dict[str, Any], path: str) -> dict[str, Any]:
    value: Any = data
    for key in path.split("."):
        value = value[key]
    result: dict[str, Any] = value
    return result


async def collect(
    gql: GraphQLClient,
    member: Member,
    query: str,
    path: str,
    variables: dict[str, Any] | None = None,
    *,
    size: int = 3,
    backwards: bool = False,
    between: Between | None = None,
) -> list[Node]:
    """Every node of a connection, page by page, in the connection's order."""
    seen: list[Node] = []
    cursor: str | None = None
    pages = 0
    while True:
        page_variables = dict(variables or {})
        if backwards:
            page_variables.update(last=size, before=cursor)
        else:
            page_variables.update(first=size, after=cursor)
        connection = connection_at(await gql.ok(query, page_variables, as_=member), path)
        nodes = [edge["node"] for edge in connection["edges"]]
        assert len(nodes) <= size
        assert [edge["cursor"] for edge in connection["edges"]][:1] == (
            [connection["pageInfo"]["startCursor"]] if nodes else []
        )
        seen = nodes + seen if backwards else seen + nodes
        info = connection["pageInfo"]
        pages += 1
        assert pages < 50, "paging does not end"
        if not (info["hasPreviousPage"] if backwards else info["hasNextPage"]):
            return seen
        cursor = info["startCursor"] if backwards else info["endCursor"]
        if between is not None:
            await between()


def at_most(times: int, insert: Between) -> Between:
    """`insert` for the first `times` pages only: rows inserted ahead of the paging on every page
    would move the end away for ever."""
    calls = 0

    async def limited() -> None:
        nonlocal calls
        calls += 1
        if calls <= times:
            await insert()

    return limited


def ids(nodes: list[Node]) -> list[str]:
    return [node["id"] for node in nodes]


def by(*fields: str, descending: bool) -> Callable[[list[Node]], list[str]]:
    """The ids of `nodes` in the order of `fields` then id, as the database orders them."""

    def key(node: Node) -> tuple[Any, ...]:
        values: list[Any] = []
        for field in fields:
            value = node[field]
            if field == "name":
                value = value.lower()
            elif field.endswith("At"):
                value = datetime.fromisoformat(value)
            values.append(value)
        return (*values, key_of(node["id"]))

    def order(nodes: list[Node]) -> list[str]:
        return ids(sorted(nodes, key=key, reverse=descending))

    return order


async def tenant(members: Members) -> Member:
    return await members.tenant(plan=Plan.ENTERPRISE)


async def set_times(
    sessions: SessionFactory, member: Member, model: Any, global_ids: list[str], **values: Any
) -> None:
    async with sessions.tenant_transaction(member.tenant_id) as session:
        keys = [key_of(global_id) for global_id in global_ids]
        await session.exec(update(model).where(col(model.id).in_(keys)).values(**values))


# ---------------------------------------------------------------- workflows

NAMES = ["delta", "Alpha", "charlie", "Echo", "bravo", "echo", "Foxtrot", "alpha"]


async def workflows_with_ties(
    gql: GraphQLClient, members: Members, sessions: SessionFactory
) -> tuple[Member, list[Node]]:
    owner = await tenant(members)
    created = [await create_workflow(gql, owner, name) for name in NAMES]
    # three share one instant, so that only the id breaks their tie
    instant = utcnow() - timedelta(hours=1)
    tied = [w["id"] for w in created[2:5]]
    await set_times(sessions, owner, models.Workflow, tied, created_at=instant, updated_at=instant)
    nodes = await collect(gql, owner, WORKFLOWS, "workflows", size=100)
    return owner, nodes


SORT_FIELD = {"UPDATED_AT": "updatedAt", "CREATED_AT": "createdAt", "NAME": "name"}


@pytest.mark.parametrize("field", list(SORT_FIELD))
@pytest.mark.parametrize("direction", ["ASC", "DESC"])
async def test_workflows_page_both_ways_in_every_order(
    gql: GraphQLClient, members: Members, sessions: SessionFactory, field: str, direction: str
) -> None:
    owner, nodes = await workflows_with_ties(gql, members, sessions)
    expected = by(SORT_FIELD[field], descending=direction == "DESC")(nodes)
    variables = {"orderBy": {"field": field, "direction": direction}}
    forwards = await collect(gql, owner, WORKFLOWS, "workflows", variables)
    backwards = await collect(gql, owner, WORKFLOWS, "workflows", variables, backwards=True)
    assert ids(forwards) == expected
    assert ids(backwards) == expected


async def test_the_default_workflow_order_is_most_recently_updated_first(
    gql: GraphQLClient, members: Members, sessions: SessionFactory
) -> None:
    owner, nodes = await workflows_with_ties(gql, members, sessions)
    assert ids(nodes) == by("updatedAt", descending=True)(nodes)
    data = await gql.ok(WORKFLOWS, as_=owner)  # no arguments: the first 20
    assert data["workflows"]["totalCount"] == len(NAMES)
    assert data["workflows"]["pageInfo"]["hasPreviousPage"] is False


async def test_inserting_workflows_between_pages_neither_repeats_nor_skips(
    gql: GraphQLClient, members: Members, sessions: SessionFactory
) -> None:
    owner, _ = await workflows_with_ties(gql, members, sessions)
    inserted = 0

    async def insert() -> None:
        nonlocal inserted
        inserted += 1
        # one sorts before every name, one after: the page order must take both in its stride
        await create_workflow(gql, owner, f"aaa {inserted}")
        await create_workflow(gql, owner, f"zzz {inserted}")

    for field, direction in (("UPDATED_AT", "DESC"), ("NAME", "ASC"), ("CREATED_AT", "ASC")):
        fields = (SORT_FIELD[field],)
        variables = {"orderBy": {"field": field, "direction": direction}}
        for backwards in (False, True):
            before = await collect(gql, owner, WORKFLOWS, "workflows", variables, size=100)
            seen = await collect(
                gql,
                owner,
                WORKFLOWS,
                "workflows",
                variables,
                backwards=backwards,
                between=at_most(2, insert),
            )
            assert len(set(ids(seen))) == len(seen), "a row was repeated"
            assert set(ids(before)) <= set(ids(seen)), "a row that existed was skipped"
            assert ids(seen) == by(*fields, descending=direction == "DESC")(seen)
    assert inserted > 0


async def test_workflow_filters_narrow_the_list_and_its_count(
    gql: GraphQLClient, members: Members, sessions: SessionFactory
) -> None:
    owner = await tenant(members)
    old = await create_workflow(gql, owner, "Old 100% done", status="ARCHIVED")
    await set_times(
        sessions, owner, models.Workflow, [old["id"]], updated_at=utcnow() - timedelta(days=3)
    )
    live = await create_workflow(gql, owner, "Live_one", status="ACTIVE")
    draft = await create_workflow(gql, owner, "LIVE two")

    async def names(filter_: dict[str, Any]) -> tuple[list[str], int]:
        data = await gql.ok(WORKFLOWS, {"filter": filter_, "first": 100}, as_=owner)
        connection = data["workflows"]
        return sorted(e["node"]["name"] for e in connection["edges"]), connection["totalCount"]

    assert await names({"status": ["ACTIVE", "ARCHIVED"]}) == (["Live_one", "Old 100% done"], 2)
    assert await names({"status": []}) == ([], 0)
    assert await names({"search": "live"}) == (["LIVE two", "Live_one"], 2)
    # % and _ are literal characters, not wildcards
    assert await names({"search": "e_o"}) == (["Live_one"], 1)
    assert await names({"search": "100%"}) == (["Old 100% done"], 1)
    assert await names({"search": "%"}) == (["Old 100% done"], 1)
    day_ago = (utcnow() - timedelta(days=1)).isoformat()
    assert await names({"updatedAfter": day_ago}) == (["LIVE two", "Live_one"], 2)
    assert await names({"updatedBefore": day_ago}) == (["Old 100% done"], 1)
    assert await names({"updatedAfter": day_ago, "status": ["DRAFT"], "search": "two"}) == (
        ["LIVE two"],
        1,
    )
    # a filtered list pages like any other
    forwards = await collect(
        gql, owner, WORKFLOWS, "workflows", {"filter": {"search": "l"}}, size=1
    )
    assert set(ids(forwards)) == {old["id"], live["id"], draft["id"]}


# ---------------------------------------------------------------- executions


async def executions_with_ties(
    gql: GraphQLClient, members: Members, sessions: SessionFactory
) -> tuple[Member, list[Node], list[Node]]:
    owner = await tenant(members)
    workflows = [await create_workflow(gql, owner, f"w{i}") for i in range(2)]
    executions = [await run_workflow(gql, owner, workflows[i % 2]["id"]) for i in range(7)]
    instant = utcnow() - timedelta(minutes=5)
    tied = [e["id"] for e in executions[1:4]]
    await set_times(sessions, owner, models.Execution, tied, queued_at=instant)
    nodes = await collect(gql, owner, EXECUTIONS, "executions", size=100)
    return owner, workflows, nodes


async def test_executions_page_both_ways_newest_first(
    gql: GraphQLClient, members: Members, sessions: SessionFactory
) -> None:
    owner, workflows, nodes = await executions_with_ties(gql, members, sessions)
    expected = by("queuedAt", descending=True)(nodes)
    assert ids(nodes) == expected
    assert ids(await collect(gql, owner, EXECUTIONS, "executions", size=2)) == expected
    backwards = await collect(gql, owner, EXECUTIONS, "executions", size=2, backwards=True)
    assert ids(backwards) == expected
    # one workflow's executions, through Workflow.executions and through the filter
    first = workflows[0]["id"]
    own = [node for node in nodes if node["workflow"]["id"] == first]
    variables = {"id": first}
    nested = await collect(gql, owner, WORKFLOW_EXECUTIONS, "workflow.executions", variables)
    nested_back = await collect(
        gql, owner, WORKFLOW_EXECUTIONS, "workflow.executions", variables, backwards=True
    )
    filtered = await collect(
        gql, owner, EXECUTIONS, "executions", {"filter": {"workflowId": first}}, size=2
    )
    assert ids(nested) == ids(nested_back) == ids(filtered) == ids(own)
    assert len(own) == 4


async def test_inserting_executions_between_pages_neither_repeats_nor_skips(
    gql: GraphQLClient, members: Members, sessions: SessionFactory
) -> None:
    owner, workflows, _ = await executions_with_ties(gql, members, sessions)

    async def insert() -> None:
        for workflow in workflows:
            await run_workflow(gql, owner, workflow["id"])

    for query, path, variables in (
        (EXECUTIONS, "executions", {}),
        (WORKFLOW_EXECUTIONS, "workflow.executions", {"id": workflows[0]["id"]}),
    ):
        for backwards in (False, True):
            before = await collect(gql, owner, query, path, variables, size=100)
            seen = await collect(
                gql,
                owner,
                query,
                path,
                variables,
                size=2,
                backwards=backwards,
                between=at_most(2, insert),
            )
            assert len(set(ids(seen))) == len(seen), "a row was repeated"
            assert set(ids(before)) <= set(ids(seen)), "a row that existed was skipped"
            assert ids(seen) == by("queuedAt", descending=True)(seen)


async def test_execution_filters_narrow_the_list_and_its_count(
    gql: GraphQLClient, members: Members, sessions: SessionFactory
) -> None:
    owner, workflows, nodes = await executions_with_ties(gql, members, sessions)
    old, failed = nodes[-1], nodes[0]
    await set_execution(
        sessions,
        owner,
        old["id"],
        status=ExecutionStatus.SUCCEEDED,
        queued_at=utcnow() - timedelta(days=2),
    )
    await set_execution(sessions, owner, failed["id"], status=ExecutionStatus.FAILED)

    async def found(filter_: dict[str, Any], query: str = EXECUTIONS) -> tuple[set[str], int]:
        variables = {"filter": filter_, "first": 100, "id": workflows[0]["id"]}
        data = await gql.ok(query, variables, as_=owner)
        path = "executions" if query == EXECUTIONS else "workflow.executions"
        connection = connection_at(data, path)
        return {e["node"]["id"] for e in connection["edges"]}, connection["totalCount"]

    day_ago = (utcnow() - timedelta(days=1)).isoformat()
    assert await found({"status": ["SUCCEEDED", "FAILED"]}) == ({old["id"], failed["id"]}, 2)
    assert await found({"queuedBefore": day_ago}) == ({old["id"]}, 1)
    assert (await found({"queuedAfter": day_ago}))[1] == len(nodes) - 1
    queued = {n["id"] for n in nodes if n["workflow"]["id"] == workflows[0]["id"]} - {
        old["id"],
        failed["id"],
    }
    assert await found({"status": ["QUEUED"]}, WORKFLOW_EXECUTIONS) == (queued, len(queued))
    # ids that name no workflow of this tenant match nothing
    other = await tenant(members)
    foreign = await create_workflow(gql, other)
    await run_workflow(gql, other, foreign["id"])
    an_execution_id = nodes[0]["id"]  # an id of another type
    for workflow_id in (foreign["id"], "garbage", an_execution_id):
        assert await found({"workflowId": workflow_id}) == (set(), 0), workflow_id


# ---------------------------------------------------------------- deployments


async def test_deployments_page_both_ways_most_recently_updated_first(
    gql: GraphQLClient, members: Members, sessions: SessionFactory
) -> None:
    owner = await tenant(members)
    workflows = [await create_workflow(gql, owner, f"w{i}") for i in range(2)]
    created = [
        await create_deployment(gql, owner, workflows[i % 2]["id"], f"d{i}") for i in range(6)
    ]
    instant = utcnow() - timedelta(minutes=5)
    tied = [d["id"] for d in created[:3]]
    await set_times(sessions, owner, models.Deployment, tied, updated_at=instant)
    nodes = await collect(gql, owner, DEPLOYMENTS, "deployments", size=100)
    expected = by("updatedAt", descending=True)(nodes)
    assert ids(nodes) == expected
    inserted: list[Node] = []

    async def insert() -> None:
        inserted.append(await create_deployment(gql, owner, workflows[0]["id"], "new"))

    for backwards in (False, True):
        seen = await collect(
            gql,
            owner,
            DEPLOYMENTS,
            "deployments",
            size=2,
            backwards=backwards,
            between=at_most(2, insert),
        )
        assert len(set(ids(seen))) == len(seen)
        assert set(expected) <= set(ids(seen))
        assert ids(seen) == by("updatedAt", descending=True)(seen)
    # Workflow.deployments pages the same way
    variables = {"id": workflows[1]["id"]}
    nested = await collect(gql, owner, WORKFLOW_DEPLOYMENTS, "workflow.deployments", variables)
    back = await collect(
        gql, owner, WORKFLOW_DEPLOYMENTS, "workflow.deployments", variables, backwards=True
    )
    own = [n["id"] for n in nodes if n["workflow"]["id"] == workflows[1]["id"]]
    assert ids(nested) == ids(back) == own
    assert inserted


async def test_deployment_filters_narrow_the_list_and_its_count(
    gql: GraphQLClient, members: Members, sessions: SessionFactory
) -> None:
    owner = await tenant(members)
    first, second = [await create_workflow(gql, owner, f"w{i}") for i in range(2)]
    web = await create_deployment(gql, owner, first["id"], "Web_app", "PRODUCTION")
    api = await create_deployment(gql, owner, first["id"], "api", "STAGING")
    worker = await create_deployment(gql, owner, second["id"], "worker", "PRODUCTION")
    await set_deployment_status(sessions, owner, api["id"], DeploymentStatus.LIVE)

    async def found(filter_: dict[str, Any]) -> tuple[set[str], int]:
        data = await gql.ok(DEPLOYMENTS, {"filter": filter_, "first": 100}, as_=owner)
        connection = data["deployments"]
        return {e["node"]["id"] for e in connection["edges"]}, connection["totalCount"]

    assert await found({"status": ["LIVE"]}) == ({api["id"]}, 1)
    assert await found({"environment": "PRODUCTION"}) == ({web["id"], worker["id"]}, 2)
    assert await found({"workflowId": first["id"]}) == ({web["id"], api["id"]}, 2)
    assert await found({"search": "WEB_"}) == ({web["id"]}, 1)
    assert await found({"search": "_"}) == ({web["id"]}, 1)
    assert await found({"workflowId": first["id"], "environment": "STAGING"}) == ({api["id"]}, 1)
    assert await found({"workflowId": "garbage"}) == (set(), 0)


# ---------------------------------------------------------------- arguments


@pytest.mark.parametrize(
    "arguments",
    [{"first": 101}, {"first": -1}, {"last": 101}, {"last": -1}, {"first": 2, "last": 2}],
)
@pytest.mark.parametrize(
    "query", [WORKFLOWS, EXECUTIONS, DEPLOYMENTS, WORKFLOW_EXECUTIONS, WORKFLOW_DEPLOYMENTS]
)
async def test_page_sizes_outside_0_to_100_are_errors(
    gql: GraphQLClient, members: Members, query: str, arguments: dict[str, Any]
) -> None:
    owner = await tenant(members)
    workflow = await create_workflow(gql, owner)
    body = await gql.execute(query, {"id": workflow["id"], **arguments}, as_=owner)
    assert error_codes(body) == ["BAD_USER_INPUT"], body
    # the largest page is fine
    await gql.ok(query, {"id": workflow["id"], "first": 100}, as_=owner)


async def test_a_cursor_is_refused_with_another_order_or_filter(
    gql: GraphQLClient, members: Members
) -> None:
    owner = await tenant(members)
    workflows = [await create_workflow(gql, owner, f"w{i}") for i in range(3)]
    for workflow in workflows[:2]:
        await run_workflow(gql, owner, workflow["id"])
        await run_workflow(gql, owner, workflow["id"])
    page = await gql.ok(WORKFLOWS, {"first": 1}, as_=owner)
    cursor = page["workflows"]["pageInfo"]["endCursor"]
    refused = [
        (WORKFLOWS, {"after": cursor, "orderBy": {"field": "NAME", "direction": "DESC"}}),
        (WORKFLOWS, {"after": cursor, "orderBy": {"field": "UPDATED_AT", "direction": "ASC"}}),
        (WORKFLOWS, {"before": cursor, "filter": {"search": "w"}}),
        (WORKFLOWS, {"after": "not a cursor"}),
        (EXECUTIONS, {"after": cursor}),
    ]
    page = await gql.ok(EXECUTIONS, {"first": 1, "filter": {"status": ["QUEUED"]}}, as_=owner)
    execution_cursor = page["executions"]["pageInfo"]["endCursor"]
    refused.append((EXECUTIONS, {"after": execution_cursor}))
    refused.append((EXECUTIONS, {"after": execution_cursor, "filter": {"status": ["FAILED"]}}))
    nested = await gql.ok(WORKFLOW_EXECUTIONS, {"id": workflows[0]["id"], "first": 1}, as_=owner)
    nested_cursor = nested["workflow"]["executions"]["pageInfo"]["endCursor"]
    # one workflow's cursor does not page another workflow's executions
    refused.append((WORKFLOW_EXECUTIONS, {"id": workflows[1]["id"], "after": nested_cursor}))
    for query, variables in refused:
        body = await gql.execute(query, {"id": workflows[0]["id"], **variables}, as_=owner)
        assert error_codes(body) == ["BAD_USER_INPUT"], variables
    # the same cursors with their own order and filter work
    same = {"id": workflows[0]["id"], "after": nested_cursor}
    assert (await gql.ok(WORKFLOW_EXECUTIONS, same, as_=owner))["workflow"]["executions"]


async def test_a_search_with_a_nul_character_or_over_200_characters_is_an_error(
    gql: GraphQLClient, members: Members
) -> None:
    owner = await tenant(members)
    for query, search in ((WORKFLOWS, "a\x00b"), (WORKFLOWS, "x" * 201)):
        body = await gql.execute(query, {"filter": {"search": search}}, as_=owner)
        assert error_codes(body) == ["BAD_USER_INPUT"], body


async def test_a_timestamp_without_offset_in_a_filter_is_an_error(
    gql: GraphQLClient, members: Members
) -> None:
    owner = await tenant(members)
    for query, filter_ in (
        (WORKFLOWS, {"updatedAfter": "2026-01-01T00:00:00"}),
        (EXECUTIONS, {"queuedBefore": "2026-01-01T00:00:00"}),
    ):
        body = await gql.execute(query, {"filter": filter_}, as_=owner)
        assert error_codes(body) == ["BAD_USER_INPUT"], body
        assert "UTC offset" in body["errors"][0]["message"]


# ---------------------------------------------------------------- batching and isolation


async def test_nested_first_pages_of_many_workflows_are_each_their_own(
    gql: GraphQLClient, members: Members
) -> None:
    owner = await tenant(members)
    runs = {0: 0, 1: 1, 2: 3, 3: 4}
    workflows = [await create_workflow(gql, owner, f"w{i}") for i in runs]
    made: dict[str, list[str]] = {}
    for index, count in runs.items():
        workflow_id = workflows[index]["id"]
        made[workflow_id] = [
            (await run_workflow(gql, owner, workflow_id))["id"] for _ in range(count)
        ]
    query = """
    query {
      workflows(first: 10) { edges { node {
        id
        executions(first: 3) { totalCount pageInfo { hasNextPage hasPreviousPage }
                               edges { node { id } } }
        lastExecution { id }
        deployments(first: 3) { totalCount edges { node { id } } }
      } } }
    }
    """
    data = await gql.ok(query, as_=owner)
    for edge in data["workflows"]["edges"]:
        node = edge["node"]
        newest_first = list(reversed(made[node["id"]]))
        executions = node["executions"]
        assert [e["node"]["id"] for e in executions["edges"]] == newest_first[:3]
        assert executions["totalCount"] == len(newest_first)
        assert executions["pageInfo"] == {
            "hasNextPage": len(newest_first) > 3,
            "hasPreviousPage": False,
        }
        last = node["lastExecution"]
        assert (last["id"] if last else None) == (newest_first[0] if newest_first else None)
        assert node["deployments"] == {"totalCount": 0, "edges": []}


async def test_another_tenants_rows_never_appear_in_any_list(
    gql: GraphQLClient, members: Members
) -> None:
    a, b = await tenant(members), await tenant(members)
    for member in (a, b):
        workflow = await create_workflow(gql, member, f"of {member.tenant_id}")
        await run_workflow(gql, member, workflow["id"])
        await create_deployment(gql, member, workflow["id"])
    theirs = await create_workflow(gql, b, "B only")
    for query, path in (
        (WORKFLOWS, "workflows"),
        (EXECUTIONS, "executions"),
        (DEPLOYMENTS, "deployments"),
    ):
        mine = await collect(gql, a, query, path, size=100)
        their_rows = set(ids(await collect(gql, b, query, path, size=100)))
        assert len(mine) == 1
        assert not set(ids(mine)) & their_rows
        # a cursor of B's list, used by A, pages A's rows only
        page = connection_at(await gql.ok(query, {"first": 1}, as_=b), path)
        for direction in ("after", "before"):
            variables = {"first": 100, direction: page["pageInfo"]["endCursor"]}
            seen = connection_at(await gql.ok(query, variables, as_=a), path)
            assert not {e["node"]["id"] for e in seen["edges"]} & their_rows
    # B's workflow id in A's Workflow.executions finds no workflow at all
    data = await gql.ok(WORKFLOW_EXECUTIONS, {"id": theirs["id"], "first": 5}, as_=a)
    assert data["workflow"] is None
