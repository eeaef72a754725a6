"""Deployments through the API: create, the status machine, url rules, delete, quotas, isolation."""

from __future__ import annotations

from typing import Any

import pytest

from tenantflow.db.session import SessionFactory
from tenantflow.enums import DeploymentStatus, Role
from tests.api.conftest import GraphQLClient, Member, Members
from tests.api.workflow_helpers import (
    CREATE_DEPLOYMENT,
    audit_rows,
    create_deployment,
    create_workflow,
    key_of,
    set_deployment_status,
    widen_race_windows,
)
from tests.concurrency import together

UPDATE = """
mutation($input: UpdateDeploymentInput!) {
  updateDeployment(input: $input) {
    __typename
    ... on DeploymentPayload {
      deployment { id name status url version workflowVersion updatedAt }
    }
    ... on Error { message }
    ... on InvalidTransitionError { from to }
    ... on ValidationError { fields { field message } }
  }
}
"""
DELETE = """
mutation($id: ID!) {
  deleteDeployment(id: $id) { __typename ... on DeletedPayload { id } ... on Error { message } }
}
"""
DEPLOYMENT = """
query($id: ID!) {
  node(id: $id) { ... on Deployment { id name status url version workflowVersion } }
}
"""
DEPLOYMENT_IDS = "query { deployments(first: 100) { totalCount edges { node { id } } } }"
UPDATE_WORKFLOW = """
mutation($input: UpdateWorkflowInput!) { updateWorkflow(input: $input) { __typename } }
"""

S = DeploymentStatus
ALLOWED = {
    (S.PENDING, S.DEPLOYING),
    (S.DEPLOYING, S.LIVE),
    (S.DEPLOYING, S.FAILED),
    (S.LIVE, S.STOPPED),
    (S.STOPPED, S.DEPLOYING),
    (S.FAILED, S.DEPLOYING),
}


async def update(gql: GraphQLClient, member: Member, **fields: Any) -> dict[str, Any]:
    result: dict[str, Any] = (await gql.ok(UPDATE, {"input": fields}, as_=member))[
        "updateDeployment"
    ]
    return result


async def test_create_makes_a_pending_deployment_of_the_current_version(
    gql: GraphQLClient, members: Members, sessions: SessionFactory
) -> None:
    owner = await members.tenant()
    workflow = await create_workflow(gql, owner)
    variables = {"input": {"id": workflow["id"], "name": "Renamed"}}
    await gql.ok(UPDATE_WORKFLOW, variables, as_=owner)  # now at version 2
    deployment = await create_deployment(gql, owner, workflow["id"], "api", "STAGING")
    assert deployment["name"] == "api"
    assert deployment["environment"] == "STAGING"
    assert (deployment["status"], deployment["url"]) == ("PENDING", None)
    assert (deployment["version"], deployment["workflowVersion"]) == (0, 2)
    assert deployment["workflow"] == {"id": workflow["id"]}
    (row,) = await audit_rows(sessions, owner, "deployment.create")
    assert (row.resource_type, row.resource_id) == ("Deployment", str(key_of(deployment["id"])))


@pytest.mark.parametrize("start", list(S))
async def test_every_transition_is_allowed_or_refused_as_the_contract_says(
    gql: GraphQLClient, members: Members, sessions: SessionFactory, start: DeploymentStatus
) -> None:
    owner = await members.tenant()
    workflow = await create_workflow(gql, owner)
    for target in S:
        deployment = await create_deployment(gql, owner, workflow["id"], f"{start}-{target}")
        await set_deployment_status(sessions, owner, deployment["id"], start)
        result = await update(gql, owner, id=deployment["id"], status=target.value)
        if (start, target) in ALLOWED:
            assert result["__typename"] == "DeploymentPayload", (start, target, result)
            assert result["deployment"]["status"] == target.value
        else:
            assert result == {
                "__typename": "InvalidTransitionError",
                "message": f"Cannot change status from {start} to {target}",
                "from": start.value,
                "to": target.value,
            }
        await gql.ok(DELETE, {"id": deployment["id"]}, as_=owner)  # FREE allows 2


async def test_each_move_to_deploying_adds_a_version_of_the_current_workflow(
    gql: GraphQLClient, members: Members, sessions: SessionFactory
) -> None:
    owner = await members.tenant()
    workflow = await create_workflow(gql, owner)
    deployment = await create_deployment(gql, owner, workflow["id"])
    steps = [("DEPLOYING", 1, 1), ("LIVE", 1, 1), ("STOPPED", 1, 1)]
    for status, version, workflow_version in steps:
        moved = (await update(gql, owner, id=deployment["id"], status=status))["deployment"]
        assert (moved["status"], moved["version"], moved["workflowVersion"]) == (
            status,
            version,
            workflow_version,
        )
    await gql.ok(UPDATE_WORKFLOW, {"input": {"id": workflow["id"], "name": "v2"}}, as_=owner)
    redeployed = (await update(gql, owner, id=deployment["id"], status="DEPLOYING"))["deployment"]
    assert (redeployed["version"], redeployed["workflowVersion"]) == (2, 2)
    failed = (await update(gql, owner, id=deployment["id"], status="FAILED"))["deployment"]
    assert (failed["version"], failed["workflowVersion"]) == (2, 2)
    rows = await audit_rows(sessions, owner, "deployment.update")
    assert len(rows) == 5
    assert rows[3].details == {
        "status": {"before": "STOPPED", "after": "DEPLOYING"},
        "version": {"before": 1, "after": 2},
        "workflowVersion": {"before": 1, "after": 2},
    }


async def test_url_must_be_http_or_https_and_null_clears_it(
    gql: GraphQLClient, members: Members, sessions: SessionFactory
) -> None:
    owner = await members.tenant()
    workflow = await create_workflow(gql, owner)
    deployment = await create_deployment(gql, owner, workflow["id"])
    for bad in (
        "ftp://example.com",
        "javascript:alert(1)",
        "https://",
        "example.com",
        "http://a b",
    ):
        result = await update(gql, owner, id=deployment["id"], url=bad)
        assert result["__typename"] == "ValidationError", bad
        assert [f["field"] for f in result["fields"]] == ["input.url"]
    ok = await update(gql, owner, id=deployment["id"], url="https://app.example.com/hook")
    assert ok["deployment"]["url"] == "https://app.example.com/hook"
    assert ok["deployment"]["status"] == "PENDING"  # omitted fields stay
    cleared = await update(gql, owner, id=deployment["id"], url=None, name="renamed")
    assert (cleared["deployment"]["url"], cleared["deployment"]["name"]) == (None, "renamed")
    nulls = await update(gql, owner, id=deployment["id"], name=None, status=None)
    assert [f["field"] for f in nulls["fields"]] == ["input.name", "input.status"]
    assert len(await audit_rows(sessions, owner, "deployment.update")) == 2


async def test_create_validates_its_input_and_needs_a_live_workflow(
    gql: GraphQLClient, members: Members
) -> None:
    owner = await members.tenant()
    workflow = await create_workflow(gql, owner)
    variables = {"input": {"workflowId": workflow["id"], "name": "", "environment": "STAGING"}}
    result = (await gql.ok(CREATE_DEPLOYMENT, variables, as_=owner))["createDeployment"]
    assert [f["field"] for f in result["fields"]] == ["input.name"]
    delete_workflow = "mutation($id: ID!) { deleteWorkflow(id: $id) { __typename } }"
    await gql.ok(delete_workflow, {"id": workflow["id"]}, as_=owner)
    variables["input"]["name"] = "web"
    result = (await gql.ok(CREATE_DEPLOYMENT, variables, as_=owner))["createDeployment"]
    assert result == {"__typename": "NotFoundError", "message": "Workflow not found"}


async def test_a_stopped_deployment_of_a_deleted_workflow_cannot_deploy_again(
    gql: GraphQLClient, members: Members
) -> None:
    owner = await members.tenant()
    workflow = await create_workflow(gql, owner)
    deployment = await create_deployment(gql, owner, workflow["id"])
    for status in ("DEPLOYING", "FAILED"):
        await update(gql, owner, id=deployment["id"], status=status)
    delete_workflow = "mutation($id: ID!) { deleteWorkflow(id: $id) { __typename } }"
    deleted = await gql.ok(delete_workflow, {"id": workflow["id"]}, as_=owner)
    assert deleted["deleteWorkflow"]["__typename"] == "DeletedPayload"
    result = await update(gql, owner, id=deployment["id"], status="DEPLOYING")
    assert [f["field"] for f in result["fields"]] == ["input.status"]
    # the deployment and its workflow stay readable
    query = "query($id: ID!) { node(id: $id) { ... on Deployment { workflow { deletedAt } } } }"
    read = (await gql.ok(query, {"id": deployment["id"]}, as_=owner))["node"]
    assert read["workflow"]["deletedAt"] is not None


async def test_delete_removes_the_deployment_and_frees_its_quota_slot(
    gql: GraphQLClient, members: Members, sessions: SessionFactory
) -> None:
    owner = await members.tenant()  # FREE: 2 deployments
    workflow = await create_workflow(gql, owner)
    first = await create_deployment(gql, owner, workflow["id"], "one")
    await create_deployment(gql, owner, workflow["id"], "two")
    variables = {"input": {"workflowId": workflow["id"], "name": "three", "environment": "STAGING"}}
    refused = (await gql.ok(CREATE_DEPLOYMENT, variables, as_=owner))["createDeployment"]
    assert (refused["__typename"], refused["resource"], refused["limit"]) == (
        "QuotaExceededError",
        "deployments",
        2,
    )
    deleted = (await gql.ok(DELETE, {"id": first["id"]}, as_=owner))["deleteDeployment"]
    assert deleted == {"__typename": "DeletedPayload", "id": first["id"]}
    assert (await gql.ok(DEPLOYMENT, {"id": first["id"]}, as_=owner))["node"] is None
    again = (await gql.ok(DELETE, {"id": first["id"]}, as_=owner))["deleteDeployment"]
    assert again["__typename"] == "NotFoundError"
    await create_deployment(gql, owner, workflow["id"], "three")
    (row,) = await audit_rows(sessions, owner, "deployment.delete")
    assert row.resource_id == str(key_of(first["id"]))


async def test_concurrent_creates_cannot_both_take_the_last_deployment_slot(
    gql: GraphQLClient, members: Members, monkeypatch: pytest.MonkeyPatch
) -> None:
    widen_race_windows(monkeypatch)
    owner = await members.tenant()
    workflow = await create_workflow(gql, owner)
    await create_deployment(gql, owner, workflow["id"], "one")
    variables = {"input": {"workflowId": workflow["id"], "name": "race", "environment": "STAGING"}}
    results = await together(*(gql.ok(CREATE_DEPLOYMENT, variables, as_=owner) for _ in range(4)))
    kinds = sorted(result["createDeployment"]["__typename"] for result in results)
    assert kinds == ["DeploymentPayload"] + ["QuotaExceededError"] * 3
    assert (await gql.ok(DEPLOYMENT_IDS, as_=owner))["deployments"]["totalCount"] == 2


async def test_viewers_cannot_change_deployments(gql: GraphQLClient, members: Members) -> None:
    owner = await members.tenant()
    viewer = await members.member(owner.tenant_id, role=Role.VIEWER)
    workflow = await create_workflow(gql, owner)
    deployment = await create_deployment(gql, owner, workflow["id"])
    variables = {"input": {"workflowId": workflow["id"], "name": "x", "environment": "STAGING"}}
    created = (await gql.ok(CREATE_DEPLOYMENT, variables, as_=viewer))["createDeployment"]
    updated = await update(gql, viewer, id=deployment["id"], name="x")
    deleted = (await gql.ok(DELETE, {"id": deployment["id"]}, as_=viewer))["deleteDeployment"]
    for result in (created, updated, deleted):
        assert result["__typename"] == "PermissionDeniedError"
    assert created["requiredPermission"] == "deployment:write"


async def test_another_tenants_deployments_act_like_ones_that_do_not_exist(
    gql: GraphQLClient, members: Members, sessions: SessionFactory
) -> None:
    a, b = await members.tenant(), await members.tenant()
    their_workflow = await create_workflow(gql, b)
    theirs = await create_deployment(gql, b, their_workflow["id"])
    # A cannot deploy B's workflow, nor see, change or delete B's deployment
    variables = {
        "input": {"workflowId": their_workflow["id"], "name": "x", "environment": "STAGING"}
    }
    created = (await gql.ok(CREATE_DEPLOYMENT, variables, as_=a))["createDeployment"]
    assert created == {"__typename": "NotFoundError", "message": "Workflow not found"}
    assert (await gql.ok(DEPLOYMENT, {"id": theirs["id"]}, as_=a))["node"] is None
    assert (await gql.ok(DEPLOYMENT_IDS, as_=a))["deployments"]["totalCount"] == 0
    not_found = {"__typename": "NotFoundError", "message": "Deployment not found"}
    assert await update(gql, a, id=theirs["id"], status="DEPLOYING") == not_found
    assert await update(gql, a, id="garbage", status="DEPLOYING") == not_found
    deleted = (await gql.ok(DELETE, {"id": theirs["id"]}, as_=a))["deleteDeployment"]
    assert deleted == not_found
    read = (await gql.ok(DEPLOYMENT, {"id": theirs["id"]}, as_=b))["node"]
    assert (read["status"], read["version"]) == ("PENDING", 0)
    assert await audit_rows(sessions, a) == []
