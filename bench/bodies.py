"""The request files that wrk rotates through: one per system and load, same logical requests.

Each line is "<Authorization>\\t<JSON body>". The lines rotate members across every tenant, and
workflow ids across each tenant's workflows, in a fixed pseudo-random order.
"""

from __future__ import annotations

import json
import random
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

from bench import ids
from bench.plans import Volumes
from bench.tokens import Member

LINES = 3000
NOOP = {"nodes": [{"id": "a", "type": "noop", "config": {}}], "edges": []}

TF_BY_ID = "query Workflow($id: ID!) { workflow(id: $id) { id name status owner { email } } }"
TF_CREATE = (
    "mutation Create($in: CreateWorkflowInput!) { createWorkflow(input: $in) { __typename"
    " ... on WorkflowPayload { workflow { id version } } } }"
)
TF_UPDATE = (
    "mutation Update($in: UpdateWorkflowInput!) { updateWorkflow(input: $in) { __typename"
    " ... on WorkflowPayload { workflow { id version } } } }"
)
TF_RUN = (
    "mutation Run($in: RunWorkflowInput!) { runWorkflow(input: $in) { __typename"
    " ... on ExecutionPayload { execution { id status } } } }"
)

# PostGraphile 4's names for the same operations (default inflector; the composite foreign key
# executions (tenant_id, workflow_id) -> workflows (tenant_id, id) names the nested connection).
PGL_DASHBOARD = """query Dashboard($first: Int = 50) {
  allWorkflows(first: $first, orderBy: UPDATED_AT_DESC, condition: {deletedAt: null}) {
    totalCount
    pageInfo { hasNextPage endCursor }
    edges {
      node {
        id
        name
        status
        updatedAt
        userByOwnerId { email }
        executionsByTenantIdAndWorkflowId(first: 5, orderBy: QUEUED_AT_DESC) {
          edges { node { id status queuedAt durationMs } }
        }
      }
    }
  }
}"""
PGL_BY_ID = (
    "query Workflow($id: UUID!) { workflowById(id: $id) { id name status"
    " userByOwnerId { email } } }"
)
PGL_CREATE = (
    "mutation Create($in: CreateWorkflowInput!) { createWorkflow(input: $in) {"
    " workflow { id version } } }"
)
PGL_UPDATE = (
    "mutation Update($in: UpdateWorkflowByIdInput!) { updateWorkflowById(input: $in) {"
    " workflow { id version } } }"
)
PGL_RUN = (
    "mutation Run($in: CreateExecutionInput!) { createExecution(input: $in) {"
    " execution { id status } } }"
)

Body = dict[str, Any]
BodyMaker = Callable[[random.Random, Member, int], Body]


def _body(query: str, variables: dict[str, Any]) -> Body:
    return {"query": query, "variables": variables}


def _pick(rng: random.Random, volumes: Volumes, keep: Callable[[int], bool]) -> int:
    while True:
        j = rng.randint(1, volumes.workflows)
        if keep(j):
            return j


class Requests:
    def __init__(self, members: list[Member], volumes: Volumes, dashboard_query: str) -> None:
        self.members = members
        self.volumes = volumes
        self.dashboard_query = dashboard_query

    def _lines(self, seed: int, make: BodyMaker) -> Iterator[str]:
        rng = random.Random(seed)
        for _ in range(LINES):
            member = rng.choice(self.members)
            j = _pick(rng, self.volumes, ids.runnable)
            body = make(rng, member, j)
            yield f"{member.authorization}\t{json.dumps(body, separators=(',', ':'))}"

    def write(self, directory: Path) -> dict[tuple[str, str], Path]:
        """Request files by (system, load)."""
        directory.mkdir(parents=True, exist_ok=True)
        makers: dict[tuple[str, str], BodyMaker] = {
            ("tenantflow", "dashboard"): lambda r, m, j: _body(self.dashboard_query, {"first": 50}),
            ("postgraphile", "dashboard"): lambda r, m, j: _body(PGL_DASHBOARD, {"first": 50}),
            ("tenantflow", "by_id"): lambda r, m, j: _body(
                TF_BY_ID, {"id": ids.workflow_gid(m.tenant, _pick(r, self.volumes, ids.visible))}
            ),
            ("postgraphile", "by_id"): lambda r, m, j: _body(
                PGL_BY_ID,
                {"id": str(ids.workflow_id(m.tenant, _pick(r, self.volumes, ids.visible)))},
            ),
            ("tenantflow", "writes"): self._tenantflow_write,
            ("postgraphile", "writes"): self._postgraphile_write,
        }
        loads = sorted({load for _, load in makers})
        paths = {}
        for key, make in makers.items():
            # One seed per load: both systems get the same logical requests in the same order.
            path = directory / f"{key[0]}-{key[1]}.tsv"
            path.write_text("\n".join(self._lines(loads.index(key[1]), make)) + "\n")
            paths[key] = path
        return paths

    @staticmethod
    def _tenantflow_write(rng: random.Random, member: Member, j: int) -> Body:
        kind = rng.randrange(3)
        if kind == 0:
            name = f"bench created {rng.randrange(10**9)}"
            return _body(TF_CREATE, {"in": {"name": name, "definition": NOOP, "status": "ACTIVE"}})
        workflow = ids.workflow_gid(member.tenant, j)
        if kind == 1:
            name = f"bench renamed {rng.randrange(10**9)}"
            return _body(TF_UPDATE, {"in": {"id": workflow, "name": name}})
        return _body(TF_RUN, {"in": {"workflowId": workflow}})

    @staticmethod
    def _postgraphile_write(rng: random.Random, member: Member, j: int) -> Body:
        kind = rng.randrange(3)
        if kind == 0:
            name = f"bench created {rng.randrange(10**9)}"
            workflow = {"name": name, "definition": NOOP, "status": "ACTIVE"}
            return _body(PGL_CREATE, {"in": {"workflow": workflow}})
        workflow_id = str(ids.workflow_id(member.tenant, j))
        if kind == 1:
            name = f"bench renamed {rng.randrange(10**9)}"
            return _body(PGL_UPDATE, {"in": {"id": workflow_id, "workflowPatch": {"name": name}}})
        execution = {"workflowId": workflow_id, "definition": NOOP}
        return _body(PGL_RUN, {"in": {"execution": execution}})
