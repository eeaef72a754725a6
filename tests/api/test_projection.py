"""The projected path answers exactly what the general resolvers answer.

Two applications share one PostgreSQL database, one with `projection` on and one with it off;
every operation here is sent to both, by the same members, and the two JSON bodies must be equal
(data, errors, their order). The data is made to show differences: owners who left the tenant,
deleted workflows, executions without a start or an end, workflows without executions, ties in
the sort keys, and a second tenant whose rows must never appear.
"""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

import httpx
import pytest
from asgi_lifespan import LifespanManager
from sqlmodel import col, delete

from tenantflow.app import build_app
from tenantflow.db import models
from tenantflow.db.session import SessionFactory
from tenantflow.db.types import utcnow
from tenantflow.enums import ExecutionStatus, Plan, Role, WorkflowStatus
from tenantflow.schema.ids import to_global_id
from tenantflow.settings import Settings
from tests.api.conftest import GraphQLClient, Member, Members
from tests.api.test_dashboard_statements import StatementCounter
from tests.api.workflow_helpers import DEFINITION
from tests.conformance.test_reference_clients import SHARED

pytestmark = pytest.mark.postgresql

DASHBOARD = (SHARED / "contract" / "dashboard.graphql").read_text()
EVERY_FIELD = """
query Every($first: Int, $after: String, $last: Int, $before: String,
            $filter: WorkflowFilter, $orderBy: WorkflowOrder, $runs: Int) {
  workflows(first: $first, after: $after, last: $last, before: $before,
            filter: $filter, orderBy: $orderBy) {
    __typename
    totalCount
    pageInfo { __typename hasNextPage hasPreviousPage startCursor endCursor }
    edges {
      __typename
      cursor
      node {
        __typename id name description status version createdAt updatedAt deletedAt
        owner { __typename id email name createdAt }
        executions(first: $runs) {
          __typename
          pageInfo { hasNextPage hasPreviousPage startCursor endCursor }
          edges {
            cursor
            node {
              __typename id workflowVersion status error queuedAt startedAt finishedAt durationMs
            }
          }
        }
      }
    }
  }
}
"""
ONE = """
query One($id: ID!) {
  workflow(id: $id) {
    id name status version updatedAt deletedAt
    owner { id email }
    executions(first: 3) { edges { cursor node { id status durationMs error } } }
  }
}
"""
ALIASES_AND_FRAGMENTS = """
fragment Run on Execution { id status }
fragment Summary on Workflow { id title: name ... on Workflow { status } }
query Shaped($withOwner: Boolean!, $skipRuns: Boolean!) {
  __typename
  newest: workflows(first: 3) {
    count: totalCount
    edges { node { ...Summary who: owner @include(if: $withOwner) { email } } }
  }
  byName: workflows(first: 4, orderBy: {field: NAME, direction: ASC}) {
    info: pageInfo { more: hasNextPage end: endCursor }
    edges {
      at: cursor
      node {
        ...Summary
        latest: executions(first: 2) @skip(if: $skipRuns) { edges { node { ...Run } } }
      }
    }
  }
}
"""
# Fields outside the projection: the operation is left whole to the general path.
GENERAL_ONLY = [
    "{ workflows(first: 3) { edges { node { id definition } } } }",
    "{ workflows(first: 3) { edges { node { id lastExecution { id status } } } } }",
    "{ workflows(first: 3) { edges { node { id executions(first: 2) { totalCount } } } } }",
    "{ workflows(first: 3) { edges { node { executions(last: 2) { edges { node { id } } } } } } }",
    "{ workflows(first: 2) { edges { node { id } } } viewer { user { email } } }",
    "{ workflows(first: 2) { edges { node { id name name } } } }",
]
REFUSED = [
    ("{ workflows(first: 101) { totalCount } }", {}),
    ("{ workflows(first: -1) { totalCount } }", {}),
    ("{ workflows(first: 2, last: 2) { totalCount } }", {}),
    ('{ workflows(after: "not a cursor") { totalCount } }', {}),
    (
        "{ workflows(first: 2) { edges { node { executions(first: 500) { edges { cursor } } } } } }",  # noqa: E501
        {},
    ),
    ("query($f: Int) { workflows(first: $f) { totalCount } }", {"f": "five"}),
]

WORKFLOWS = 14
ORDERS = [
    None,
    {"field": "UPDATED_AT", "direction": "ASC"},
    {"field": "CREATED_AT", "direction": "DESC"},
    {"field": "NAME", "direction": "ASC"},
    {"field": "NAME", "direction": "DESC"},
]
FILTERS = [
    None,
    {"status": ["ACTIVE"]},
    {"status": ["DRAFT", "ARCHIVED"]},
    {"search": "flow 1"},
    {"search": "%"},
    {"search": "NOTHING"},
]


class Pair:
    """One operation, sent to both applications."""

    def __init__(self, projected: GraphQLClient, general: GraphQLClient) -> None:
        self.projected = projected
        self.general = general

    async def same(
        self, query: str, variables: dict[str, Any] | None = None, *, as_: Member
    ) -> dict[str, Any]:
        answer = await self.projected.execute(query, variables, as_=as_)
        expected = await self.general.execute(query, variables, as_=as_)
        assert answer == expected, (query, variables)
        return answer


@pytest.fixture
def backend() -> str:
    return "postgresql"


@asynccontextmanager
async def _client(settings: Settings) -> AsyncIterator[GraphQLClient]:
    async with LifespanManager(build_app(settings)) as manager:
        transport = httpx.ASGITransport(app=manager.app)
        async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as http:
            yield GraphQLClient(http)


@pytest.fixture
async def pair(settings: Settings) -> AsyncIterator[Pair]:
    assert settings.projection
    uncached = settings.model_copy(update={"cache": False})  # every answer is computed
    async with (
        _client(uncached) as projected,
        _client(uncached.model_copy(update={"projection": False})) as general,
    ):
        yield Pair(projected, general)


async def seed(
    sessions: SessionFactory, owner: Member, members: Members
) -> tuple[list[uuid.UUID], uuid.UUID]:
    """WORKFLOWS workflows in owner's tenant: the live ones' ids newest-updated first, and the
    deleted one's."""
    editor = await members.member(owner.tenant_id, role=Role.EDITOR)
    leaver = await members.member(owner.tenant_id, role=Role.EDITOR)
    start = utcnow() - timedelta(days=2)
    statuses = [WorkflowStatus.ACTIVE, WorkflowStatus.DRAFT, WorkflowStatus.ARCHIVED]
    owners = [owner.user_id, editor.user_id, leaver.user_id, None]
    runs = [
        ExecutionStatus.SUCCEEDED,
        ExecutionStatus.FAILED,
        ExecutionStatus.RUNNING,
        ExecutionStatus.QUEUED,
        ExecutionStatus.CANCELLED,
    ]
    async with sessions.tenant_transaction(owner.tenant_id) as session:
        workflows = [
            models.Workflow(
                # two names twice, and pairs of equal update times: ties broken by id
                name=f"Flow {i % 12}",
                description=None if i % 2 else f"about {i}",
                status=statuses[i % 3],
                version=1 + i % 4,
                definition=DEFINITION,
                owner_id=owners[i % 4],
                created_at=start + timedelta(minutes=i),
                updated_at=start + timedelta(hours=i // 2),
                deleted_at=start + timedelta(days=1) if i == 5 else None,
            )
            for i in range(WORKFLOWS)
        ]
        session.add_all(workflows)
        await session.flush()
        for i, workflow in enumerate(workflows):
            for j in range(i % 7):  # 0 to 6 executions
                status = runs[(i + j) % 5]
                queued = start + timedelta(hours=i, minutes=j // 2)  # ties in queuedAt
                begun = status is not ExecutionStatus.QUEUED
                ended = status.is_terminal
                session.add(
                    models.Execution(
                        workflow_id=workflow.id,
                        workflow_version=workflow.version,
                        definition=DEFINITION,
                        status=status,
                        error="step failed" if status is ExecutionStatus.FAILED else None,
                        queued_at=queued,
                        started_at=queued + timedelta(seconds=1) if begun else None,
                        finished_at=(
                            queued + timedelta(seconds=2, milliseconds=j) if ended else None
                        ),
                    )
                )
        # the leaver's workflows keep owner_id; the owner is no longer a member: owner is null
        leaving = col(models.Membership.user_id) == leaver.user_id
        await session.exec(delete(models.Membership).where(leaving))
    live = [w for w in workflows if w.deleted_at is None]
    ordered = sorted(live, key=lambda w: (w.updated_at, w.id), reverse=True)
    return [w.id for w in ordered], workflows[5].id


@dataclass(frozen=True)
class Seeded:
    owner: Member  # of tenant A
    viewer: Member  # of A
    ours: list[uuid.UUID]  # A's live workflows, newest-updated first
    deleted: uuid.UUID  # A's deleted workflow
    theirs: list[uuid.UUID]  # tenant B's


@pytest.fixture
async def seeded(sessions: SessionFactory, members: Members) -> Seeded:
    owner = await members.tenant(plan=Plan.ENTERPRISE)
    viewer = await members.member(owner.tenant_id, role=Role.VIEWER)
    other = await members.tenant(plan=Plan.ENTERPRISE)
    ours, deleted = await seed(sessions, owner, members)
    theirs, _ = await seed(sessions, other, members)
    return Seeded(owner, viewer, ours, deleted, theirs)


async def test_every_order_and_filter_pages_alike_both_ways(pair: Pair, seeded: Seeded) -> None:
    owner = seeded.owner
    viewer = seeded.viewer
    theirs = seeded.theirs
    every: set[str] = set()
    for order in ORDERS:
        for filter_ in FILTERS:
            for member in (owner, viewer):
                # forward through every page, then back from the end
                variables: dict[str, Any] = {
                    "first": 4,
                    "orderBy": order,
                    "filter": filter_,
                    "runs": 3,
                }
                seen: list[str] = []
                while True:
                    page = (await pair.same(EVERY_FIELD, variables, as_=member))["data"]
                    connection = page["workflows"]
                    seen += [edge["node"]["id"] for edge in connection["edges"]]
                    if not connection["pageInfo"]["hasNextPage"]:
                        break
                    variables["after"] = connection["pageInfo"]["endCursor"]
                assert len(seen) == len(set(seen)) == connection["totalCount"]
                every.update(seen)
                backwards: dict[str, Any] = {"last": 5, "orderBy": order, "filter": filter_}
                while True:
                    page = (await pair.same(EVERY_FIELD, backwards, as_=member))["data"]
                    info = page["workflows"]["pageInfo"]
                    if not info["hasPreviousPage"]:
                        break
                    backwards["before"] = info["startCursor"]
    theirs_ids = {str(to_global_id("Workflow", key)) for key in theirs}
    assert every
    assert not theirs_ids & every


async def test_the_answer_has_what_the_data_holds(pair: Pair, seeded: Seeded) -> None:
    """Not only equal: the seeded differences show (so that equal is not equally empty)."""
    owner = seeded.owner
    ours = seeded.ours
    data = (await pair.same(EVERY_FIELD, {"first": 100, "runs": 10}, as_=owner))["data"]
    nodes = [edge["node"] for edge in data["workflows"]["edges"]]
    assert [node["id"] for node in nodes] == [str(to_global_id("Workflow", key)) for key in ours]
    assert data["workflows"]["totalCount"] == WORKFLOWS - 1  # one deleted
    owners = [node["owner"] for node in nodes]
    assert None in owners
    assert any(o is not None for o in owners)
    durations = [
        edge["node"]["durationMs"] for node in nodes for edge in node["executions"]["edges"]
    ]
    assert None in durations
    assert any(d is not None for d in durations)
    assert any(not node["executions"]["edges"] for node in nodes)


async def test_a_workflow_by_id_alike_for_every_kind_of_id(pair: Pair, seeded: Seeded) -> None:
    owner = seeded.owner
    viewer = seeded.viewer
    ours = seeded.ours
    deleted = seeded.deleted
    theirs = seeded.theirs
    ids = [str(to_global_id("Workflow", key)) for key in (*ours, deleted, theirs[0])]
    ids += [
        str(to_global_id("Execution", ours[0])),
        str(to_global_id("Workflow", uuid.uuid4())),
        "V29ya2Zsb3c6bm90LWEtdXVpZA==",
    ]
    found = 0
    for workflow_id in ids:
        for member in (owner, viewer):
            answer = await pair.same(ONE, {"id": workflow_id}, as_=member)
            found += answer["data"]["workflow"] is not None
    assert found == 2 * (WORKFLOWS - 1)  # ours, less the deleted one; never theirs


async def test_aliases_fragments_and_directives_alike(pair: Pair, seeded: Seeded) -> None:
    owner = seeded.owner
    viewer = seeded.viewer
    for with_owner in (True, False):
        for skip_runs in (True, False):
            variables = {"withOwner": with_owner, "skipRuns": skip_runs}
            for member in (owner, viewer):
                answer = await pair.same(ALIASES_AND_FRAGMENTS, variables, as_=member)
                nodes = answer["data"]["newest"]["edges"]
                assert all(("who" in edge["node"]) is with_owner for edge in nodes)
    await pair.same(DASHBOARD, {"first": 5}, as_=owner)
    await pair.same(DASHBOARD, {}, as_=viewer)


async def test_what_the_projection_leaves_or_refuses_is_answered_alike(
    pair: Pair, seeded: Seeded
) -> None:
    owner = seeded.owner
    for query in GENERAL_ONLY:
        answer = await pair.same(query, as_=owner)
        assert "errors" not in answer or query.count("name") == 2, answer
    for query, variables in REFUSED:
        answer = await pair.same(query, variables, as_=owner)
        assert answer.get("errors"), query


async def test_a_member_of_another_tenant_sees_only_theirs(
    pair: Pair, seeded: Seeded, members: Members
) -> None:
    ours = seeded.ours
    stranger = await members.tenant(plan=Plan.ENTERPRISE)
    answer = await pair.same(EVERY_FIELD, {"first": 100}, as_=stranger)
    assert answer["data"]["workflows"] == {
        "__typename": "WorkflowConnection",
        "totalCount": 0,
        "pageInfo": {
            "__typename": "PageInfo",
            "hasNextPage": False,
            "hasPreviousPage": False,
            "startCursor": None,
            "endCursor": None,
        },
        "edges": [],
    }
    for key in ours[:3]:
        answer = await pair.same(ONE, {"id": str(to_global_id("Workflow", key))}, as_=stranger)
        assert answer["data"]["workflow"] is None


async def test_the_projected_app_answers_in_one_statement(
    pair: Pair, seeded: Seeded, sessions: SessionFactory
) -> None:
    """Equal answers would also hold if the projection never ran: it must, for these."""
    owner = seeded.owner
    ours = seeded.ours
    counter = StatementCounter(sessions.engine.sync_engine)
    operations: list[tuple[str, dict[str, Any]]] = [
        (DASHBOARD, {}),
        (EVERY_FIELD, {"first": 5, "orderBy": ORDERS[3], "filter": FILTERS[1], "runs": 2}),
        (ONE, {"id": str(to_global_id("Workflow", ours[0]))}),
    ]
    with counter.listening():
        for query, variables in operations:
            await pair.projected.ok(query, variables, as_=owner)  # warm the caches
            with counter.count() as projected:
                await pair.projected.ok(query, variables, as_=owner)
            with counter.count() as general:
                await pair.general.ok(query, variables, as_=owner)
            # the transaction's settings, the credentials, the operation
            assert len(projected) == 3, projected
            assert len(general) > len(projected)
