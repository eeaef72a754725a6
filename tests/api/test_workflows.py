"""Workflows through the API: create, read, update, delete, quotas, audit and tenant isolation."""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

import pytest
from sqlmodel import col, select

from tenantflow.db import models
from tenantflow.db.session import SessionFactory
from tenantflow.enums import Role, TenantStatus
from tenantflow.schema.ids import to_global_id
from tests.api.conftest import GraphQLClient, Members, error_codes
from tests.api.workflow_helpers import (
    CREATE_WORKFLOW,
    DEFINITION,
    WORKFLOW_FIELDS,
    audit_rows,
    create_deployment,
    create_workflow,
    key_of,
    nested,
    run_workflow,
    widen_race_windows,
)
from tests.concurrency import together

WORKFLOW = f"query($id: ID!) {{ workflow(id: $id) {{ {WORKFLOW_FIELDS} }} }}"
NODE = "query($id: ID!) { node(id: $id) { id __typename ... on Workflow { name } } }"
WORKFLOW_NAMES = "query { workflows(first: 100) { totalCount edges { node { name } } } }"
UPDATE_WORKFLOW = f"""
mutation($input: UpdateWorkflowInput!) {{
  updateWorkflow(input: $input) {{
    __typename
    ... on WorkflowPayload {{ workflow {{ {WORKFLOW_FIELDS} }} }}
    ... on Error {{ message }}
    ... on ValidationError {{ fields {{ field message }} }}
  }}
}}
"""
DELETE_WORKFLOW = """
mutation($id: ID!) {
  deleteWorkflow(id: $id) {
    __typename
    ... on DeletedPayload { id }
    ... on Error { message }
  }
}
"""
EXECUTION_WORKFLOW = """
query($id: ID!) { execution(id: $id) { id workflow { id name deletedAt } } }
"""


def names(data: dict[str, Any]) -> list[str]:
    return [edge["node"]["name"] for edge in data["workflows"]["edges"]]


async def create(gql: GraphQLClient, member: Any, **fields: Any) -> dict[str, Any]:
    variables = {"input": {"name": "Flow", "definition": DEFINITION, **fields}}
    result: dict[str, Any] = (await gql.ok(CREATE_WORKFLOW, variables, as_=member))[
        "createWorkflow"
    ]
    return result


async def update(gql: GraphQLClient, member: Any, **fields: Any) -> dict[str, Any]:
    result: dict[str, Any] = (await gql.ok(UPDATE_WORKFLOW, {"input": fields}, as_=member))[
        "updateWorkflow"
    ]
    return result


def problem_fields(result: dict[str, Any]) -> list[str]:
    assert result["__typename"] == "ValidationError", result
    return [problem["field"] for problem in result["fields"]]


# ---------------------------------------------------------------- create and read


async def test_create_returns_a_draft_at_version_one_owned_by_the_creator(
    gql: GraphQLClient, members: Members, sessions: SessionFactory
) -> None:
    # given
    editor = await members.member((await members.tenant()).tenant_id, role=Role.EDITOR)
    # when
    workflow = await create_workflow(gql, editor, "Nightly report", description="Sends it")
    # then
    assert workflow["name"] == "Nightly report"
    assert workflow["description"] == "Sends it"
    assert workflow["status"] == "DRAFT"
    assert workflow["version"] == 1
    assert workflow["definition"] == DEFINITION
    assert workflow["deletedAt"] is None
    assert workflow["owner"] == {"id": to_global_id("User", editor.user_id), "email": editor.email}
    read = (await gql.ok(WORKFLOW, {"id": workflow["id"]}, as_=editor))["workflow"]
    assert read == workflow
    (row,) = await audit_rows(sessions, editor, "workflow.create")
    assert (row.resource_type, row.resource_id) == ("Workflow", str(key_of(workflow["id"])))
    assert row.actor_user_id == editor.user_id
    assert row.details == {"name": "Nightly report", "status": "DRAFT", "version": 1}


async def test_node_resolves_a_workflow(gql: GraphQLClient, members: Members) -> None:
    owner = await members.tenant()
    workflow = await create_workflow(gql, owner, "Seen by node")
    data = await gql.ok(NODE, {"id": workflow["id"]}, as_=owner)
    assert data["node"] == {"id": workflow["id"], "__typename": "Workflow", "name": "Seen by node"}


async def test_create_refuses_bad_input_naming_each_field(
    gql: GraphQLClient, members: Members, sessions: SessionFactory
) -> None:
    owner = await members.tenant()
    bad_definition = {
        "nodes": [
            {"id": "a", "type": "delay", "config": {"ms": 99999}},
            {"id": "a", "type": "teleport", "config": {}},
        ],
        "edges": [{"from": "a", "to": "nowhere"}],
    }
    result = await create(
        gql, owner, name=" ", description="x" * 2001, definition=bad_definition, status=None
    )
    assert problem_fields(result) == [
        "input.name",
        "input.description",
        "input.definition.nodes[0].config.ms",
        "input.definition.nodes[1].id",
        "input.definition.nodes[1].type",
        "input.definition.edges[0].to",
        "input.status",
    ]
    assert problem_fields(await create(gql, owner, name="n" * 201)) == ["input.name"]
    # a NUL is refused before any resolver runs, as everywhere (the contract's BAD_USER_INPUT)
    variables = {"input": {"name": "bad\x00name", "definition": {}}}
    body = await gql.execute(CREATE_WORKFLOW, variables, as_=owner)
    assert error_codes(body) == ["BAD_USER_INPUT"], body
    # nothing was written, not even an audit row
    assert (await gql.ok(WORKFLOW_NAMES, as_=owner))["workflows"]["totalCount"] == 0
    assert await audit_rows(sessions, owner) == []


async def test_oversized_and_overdeep_definitions_are_validation_errors(
    gql: GraphQLClient, members: Members
) -> None:
    owner = await members.tenant()
    large = {
        "nodes": [{"id": "a", "type": "transform", "config": {"set": {"blob": "x" * 300_000}}}]
    }
    deep = {"nodes": [{"id": "a", "type": "transform", "config": {"set": {"v": nested(40)}}}]}
    for definition in (large, deep):
        result = await create(gql, owner, definition=definition)
        assert result["__typename"] == "ValidationError", result
        assert result["fields"][0]["field"].startswith("input.definition")


async def test_viewers_cannot_write_and_suspended_tenants_refuse_changes(
    gql: GraphQLClient, members: Members
) -> None:
    owner = await members.tenant()
    viewer = await members.member(owner.tenant_id, role=Role.VIEWER)
    refused = await create(gql, viewer)
    assert refused["__typename"] == "PermissionDeniedError"
    assert refused["requiredPermission"] == "workflow:write"
    suspended = await members.tenant(status=TenantStatus.SUSPENDED)
    assert (await create(gql, suspended))["__typename"] == "TenantSuspendedError"
    # reads still work for both
    assert (await gql.ok(WORKFLOW_NAMES, as_=viewer))["workflows"]["totalCount"] == 0
    assert (await gql.ok(WORKFLOW_NAMES, as_=suspended))["workflows"]["totalCount"] == 0


async def test_reads_need_credentials(gql: GraphQLClient) -> None:
    body = await gql.execute(WORKFLOW_NAMES)
    assert error_codes(body) == ["UNAUTHENTICATED"]


# ---------------------------------------------------------------- quotas


async def test_the_workflow_quota_counts_live_workflows(
    gql: GraphQLClient, members: Members, sessions: SessionFactory
) -> None:
    owner = await members.tenant()  # FREE: 5 workflows
    created = [await create_workflow(gql, owner, f"w{i}") for i in range(5)]
    refused = await create(gql, owner, name="sixth")
    assert refused["__typename"] == "QuotaExceededError"
    assert (refused["resource"], refused["limit"], refused["plan"]) == ("workflows", 5, "FREE")
    assert len(await audit_rows(sessions, owner, "workflow.create")) == 5
    # a deleted workflow frees its slot
    deleted = await gql.ok(DELETE_WORKFLOW, {"id": created[0]["id"]}, as_=owner)
    assert deleted["deleteWorkflow"]["__typename"] == "DeletedPayload"
    assert (await create(gql, owner, name="sixth"))["__typename"] == "WorkflowPayload"


async def test_concurrent_creates_cannot_both_take_the_last_slot(
    gql: GraphQLClient, members: Members, monkeypatch: pytest.MonkeyPatch
) -> None:
    widen_race_windows(monkeypatch)
    # given: four of five slots used
    owner = await members.tenant()
    for i in range(4):
        await create_workflow(gql, owner, f"w{i}")
    # when: five requests race for the last slot
    results = await together(*(create(gql, owner, name=f"race{i}") for i in range(5)))
    # then
    kinds = sorted(result["__typename"] for result in results)
    assert kinds == ["QuotaExceededError"] * 4 + ["WorkflowPayload"]
    assert (await gql.ok(WORKFLOW_NAMES, as_=owner))["workflows"]["totalCount"] == 5


# ---------------------------------------------------------------- update


async def test_update_changes_only_given_fields_and_adds_one_to_the_version(
    gql: GraphQLClient, members: Members, sessions: SessionFactory
) -> None:
    owner = await members.tenant()
    workflow = await create_workflow(gql, owner, "Before", description="old")
    # when: the status only
    first = await update(gql, owner, id=workflow["id"], status="ACTIVE", expectedVersion=1)
    # then: everything else stays
    changed = first["workflow"]
    assert (changed["name"], changed["description"], changed["status"]) == (
        "Before",
        "old",
        "ACTIVE",
    )
    assert changed["version"] == 2
    assert datetime.fromisoformat(changed["updatedAt"]) > datetime.fromisoformat(
        workflow["updatedAt"]
    )
    assert changed["createdAt"] == workflow["createdAt"]
    # when: null clears the description; a new definition and name
    new_definition = {"nodes": [{"id": "only", "type": "noop"}], "edges": []}
    second = await update(
        gql, owner, id=workflow["id"], name="After", description=None, definition=new_definition
    )
    assert second["workflow"]["description"] is None
    assert second["workflow"]["name"] == "After"
    assert second["workflow"]["definition"] == new_definition
    assert second["workflow"]["version"] == 3
    # the audit trail has the before and after of each change
    first_row, second_row = await audit_rows(sessions, owner, "workflow.update")
    assert first_row.details == {
        "status": {"before": "DRAFT", "after": "ACTIVE"},
        "version": {"before": 1, "after": 2},
    }
    assert second_row.details is not None
    assert second_row.details["name"] == {"before": "Before", "after": "After"}
    assert second_row.details["description"] == {"before": "old", "after": None}
    assert set(second_row.details) == {"name", "description", "definition", "version"}


async def test_update_refuses_null_for_required_fields_and_a_stale_version(
    gql: GraphQLClient, members: Members, sessions: SessionFactory
) -> None:
    owner = await members.tenant()
    workflow = await create_workflow(gql, owner)
    nulls = await update(gql, owner, id=workflow["id"], name=None, definition=None, status=None)
    assert problem_fields(nulls) == ["input.name", "input.definition", "input.status"]
    stale = await update(gql, owner, id=workflow["id"], name="x", expectedVersion=7)
    assert stale["__typename"] == "ConflictError"
    assert "version 1" in stale["message"]
    read = (await gql.ok(WORKFLOW, {"id": workflow["id"]}, as_=owner))["workflow"]
    assert (read["name"], read["version"]) == ("Flow", 1)
    assert await audit_rows(sessions, owner, "workflow.update") == []


async def test_concurrent_updates_at_one_version_let_exactly_one_through(
    gql: GraphQLClient, members: Members, monkeypatch: pytest.MonkeyPatch
) -> None:
    widen_race_windows(monkeypatch)
    owner = await members.tenant()
    workflow = await create_workflow(gql, owner)
    results = await together(
        *(update(gql, owner, id=workflow["id"], name=f"n{i}", expectedVersion=1) for i in range(4))
    )
    kinds = sorted(result["__typename"] for result in results)
    assert kinds == ["ConflictError"] * 3 + ["WorkflowPayload"]
    read = (await gql.ok(WORKFLOW, {"id": workflow["id"]}, as_=owner))["workflow"]
    assert read["version"] == 2


# ---------------------------------------------------------------- delete


async def test_delete_is_refused_while_work_is_in_flight(
    gql: GraphQLClient, members: Members, sessions: SessionFactory
) -> None:
    owner = await members.tenant()
    workflow = await create_workflow(gql, owner)
    execution = await run_workflow(gql, owner, workflow["id"])
    # a QUEUED execution blocks the deletion
    blocked = (await gql.ok(DELETE_WORKFLOW, {"id": workflow["id"]}, as_=owner))["deleteWorkflow"]
    assert blocked["__typename"] == "ConflictError"
    cancel = "mutation($id: ID!) { cancelExecution(id: $id) { __typename } }"
    await gql.ok(cancel, {"id": execution["id"]}, as_=owner)
    # and so does a deployment that is not STOPPED or FAILED
    await create_deployment(gql, owner, workflow["id"])
    blocked = (await gql.ok(DELETE_WORKFLOW, {"id": workflow["id"]}, as_=owner))["deleteWorkflow"]
    assert blocked["__typename"] == "ConflictError"
    assert await audit_rows(sessions, owner, "workflow.delete") == []


async def test_a_deleted_workflow_is_hidden_but_reachable_from_its_executions(
    gql: GraphQLClient, members: Members, sessions: SessionFactory
) -> None:
    # given: a workflow that ran once
    owner = await members.tenant()
    workflow = await create_workflow(gql, owner, "Gone")
    execution = await run_workflow(gql, owner, workflow["id"])
    cancel = "mutation($id: ID!) { cancelExecution(id: $id) { __typename } }"
    await gql.ok(cancel, {"id": execution["id"]}, as_=owner)
    # when
    deleted = (await gql.ok(DELETE_WORKFLOW, {"id": workflow["id"]}, as_=owner))["deleteWorkflow"]
    # then
    assert deleted == {"__typename": "DeletedPayload", "id": workflow["id"]}
    assert (await gql.ok(WORKFLOW, {"id": workflow["id"]}, as_=owner))["workflow"] is None
    assert (await gql.ok(NODE, {"id": workflow["id"]}, as_=owner))["node"] is None
    assert (await gql.ok(WORKFLOW_NAMES, as_=owner))["workflows"]["totalCount"] == 0
    via_execution = await gql.ok(EXECUTION_WORKFLOW, {"id": execution["id"]}, as_=owner)
    assert via_execution["execution"]["workflow"]["name"] == "Gone"
    assert via_execution["execution"]["workflow"]["deletedAt"] is not None
    # it can no longer change; deleting it again finds nothing
    again = (await gql.ok(DELETE_WORKFLOW, {"id": workflow["id"]}, as_=owner))["deleteWorkflow"]
    assert again["__typename"] == "NotFoundError"
    assert (await update(gql, owner, id=workflow["id"], name="x"))["__typename"] == "NotFoundError"
    (row,) = await audit_rows(sessions, owner, "workflow.delete")
    assert row.resource_id == str(key_of(workflow["id"]))
    async with sessions.tenant_reader(owner.tenant_id) as session:
        stored = (
            await session.exec(
                select(models.Workflow).where(col(models.Workflow.id) == key_of(workflow["id"]))
            )
        ).one()
    assert stored.deleted_at is not None  # a soft delete


# ---------------------------------------------------------------- tenant isolation


async def test_another_tenants_workflow_acts_like_one_that_does_not_exist(
    gql: GraphQLClient, members: Members, sessions: SessionFactory
) -> None:
    a, b = await members.tenant(), await members.tenant()
    theirs = await create_workflow(gql, b, "B's secret")
    mine = await create_workflow(gql, a, "A's own")
    missing = to_global_id("Workflow", "00000000-0000-0000-0000-000000000001")
    assert (await gql.ok(WORKFLOW, {"id": theirs["id"]}, as_=a))["workflow"] is None
    assert (await gql.ok(NODE, {"id": theirs["id"]}, as_=a))["node"] is None
    assert names(await gql.ok(WORKFLOW_NAMES, as_=a)) == ["A's own"]
    # a foreign id, a missing id, a malformed id and an id of another type answer alike
    answers = []
    for global_id in (theirs["id"], missing, "garbage", to_global_id("User", a.user_id)):
        updated = await update(gql, a, id=global_id, name="stolen")
        deleted = (await gql.ok(DELETE_WORKFLOW, {"id": global_id}, as_=a))["deleteWorkflow"]
        answers.append((updated, deleted))
    assert all(answer == answers[0] for answer in answers)
    assert answers[0][0] == {"__typename": "NotFoundError", "message": "Workflow not found"}
    # B's workflow is untouched; A's audit trail holds only A's own create
    read = (await gql.ok(WORKFLOW, {"id": theirs["id"]}, as_=b))["workflow"]
    assert (read["name"], read["version"], read["deletedAt"]) == ("B's secret", 1, None)
    assert [row.action for row in await audit_rows(sessions, a)] == ["workflow.create"]
    assert mine["id"] != theirs["id"]


# ---------------------------------------------------------------- export and import

EXPORT = "query($ids: [ID!]) { exportWorkflows(ids: $ids) }"
IMPORT = """
mutation($data: JSON!) {
  importWorkflows(data: $data) {
    __typename
    ... on ImportWorkflowsPayload { workflows { id name description status definition version } }
    ... on Error { message }
    ... on ValidationError { fields { field message } }
    ... on QuotaExceededError { resource limit }
  }
}
"""


async def test_export_then_import_round_trips_into_another_tenant(
    gql: GraphQLClient, members: Members, sessions: SessionFactory
) -> None:
    # given
    a, b = await members.tenant(), await members.tenant()
    first = await create_workflow(gql, a, "First", description="one")
    await create_workflow(gql, a, "Second", status="ACTIVE")
    # when
    exported = (await gql.ok(EXPORT, as_=a))["exportWorkflows"]
    # then: the portable document, with nothing of tenant A in it
    assert exported == {
        "format": "tenantflow.workflows",
        "version": 1,
        "workflows": [
            {"name": "First", "description": "one", "status": "DRAFT", "definition": DEFINITION},
            {"name": "Second", "description": None, "status": "ACTIVE", "definition": DEFINITION},
        ],
    }
    text = json.dumps(exported)
    for secret in (str(a.tenant_id), str(a.user_id), first["id"], str(key_of(first["id"]))):
        assert secret not in text
    # and B imports it as new workflows of its own
    imported = (await gql.ok(IMPORT, {"data": exported}, as_=b))["importWorkflows"]
    assert imported["__typename"] == "ImportWorkflowsPayload"
    assert [(w["name"], w["status"], w["version"]) for w in imported["workflows"]] == [
        ("First", "DRAFT", 1),
        ("Second", "ACTIVE", 1),
    ]
    assert (await gql.ok(EXPORT, as_=b))["exportWorkflows"] == exported
    (row,) = await audit_rows(sessions, b, "workflow.import")
    assert row.details is not None
    assert row.details["count"] == 2


async def test_export_of_given_ids_keeps_their_order_and_skips_foreign_ones(
    gql: GraphQLClient, members: Members
) -> None:
    a, b = await members.tenant(), await members.tenant()
    first = await create_workflow(gql, a, "First")
    second = await create_workflow(gql, a, "Second")
    foreign = await create_workflow(gql, b, "Foreign")
    ids = [second["id"], foreign["id"], "garbage", first["id"]]
    exported = (await gql.ok(EXPORT, {"ids": ids}, as_=a))["exportWorkflows"]
    assert [w["name"] for w in exported["workflows"]] == ["Second", "First"]


async def test_import_is_all_or_nothing(
    gql: GraphQLClient, members: Members, sessions: SessionFactory
) -> None:
    owner = await members.tenant()
    good = {"name": "ok", "description": None, "status": "DRAFT", "definition": DEFINITION}
    bad_node = {"nodes": [{"id": "has space", "type": "noop"}], "edges": []}
    data = {
        "format": "tenantflow.workflows",
        "version": 1,
        "workflows": [good, good, {**good, "definition": bad_node}, {**good, "status": "LIVE"}],
    }
    result = (await gql.ok(IMPORT, {"data": data}, as_=owner))["importWorkflows"]
    assert problem_fields(result) == [
        "data.workflows[2].definition.nodes[0].id",
        "data.workflows[3].status",
    ]
    wrong_format = {"format": "other", "version": 2, "workflows": {}}
    result = (await gql.ok(IMPORT, {"data": wrong_format}, as_=owner))["importWorkflows"]
    assert problem_fields(result) == ["data.format", "data.version", "data.workflows"]
    assert (await gql.ok(WORKFLOW_NAMES, as_=owner))["workflows"]["totalCount"] == 0
    assert await audit_rows(sessions, owner) == []


async def test_import_checks_the_quota_for_the_whole_document(
    gql: GraphQLClient, members: Members
) -> None:
    owner = await members.tenant()  # FREE: 5 workflows
    for i in range(3):
        await create_workflow(gql, owner, f"w{i}")
    entry = {"name": "new", "definition": DEFINITION}
    data = {"format": "tenantflow.workflows", "version": 1, "workflows": [entry] * 3}
    result = (await gql.ok(IMPORT, {"data": data}, as_=owner))["importWorkflows"]
    assert (result["__typename"], result["resource"], result["limit"]) == (
        "QuotaExceededError",
        "workflows",
        5,
    )
    assert (await gql.ok(WORKFLOW_NAMES, as_=owner))["workflows"]["totalCount"] == 3
    data["workflows"] = [entry] * 2
    result = (await gql.ok(IMPORT, {"data": data}, as_=owner))["importWorkflows"]
    assert len(result["workflows"]) == 2


async def test_import_and_export_need_their_permissions(
    gql: GraphQLClient, members: Members
) -> None:
    owner = await members.tenant()
    viewer = await members.member(owner.tenant_id, role=Role.VIEWER)
    data = {"format": "tenantflow.workflows", "version": 1, "workflows": []}
    result = (await gql.ok(IMPORT, {"data": data}, as_=viewer))["importWorkflows"]
    assert result["__typename"] == "PermissionDeniedError"
    # every role may read, so a viewer exports
    assert (await gql.ok(EXPORT, as_=viewer))["exportWorkflows"]["workflows"] == []


# ---------------------------------------------------------------- every mutation's guard

MISSING = to_global_id("Workflow", "00000000-0000-0000-0000-000000000001")
GUARDED: list[tuple[str, str, Any]] = [
    ("createWorkflow(input: $input)", "CreateWorkflowInput!", {"name": "x", "definition": {}}),
    ("updateWorkflow(input: $input)", "UpdateWorkflowInput!", {"id": MISSING, "name": "x"}),
    ("deleteWorkflow(id: $input)", "ID!", MISSING),
    ("importWorkflows(data: $input)", "JSON!", {}),
    ("runWorkflow(input: $input)", "RunWorkflowInput!", {"workflowId": MISSING}),
    ("cancelExecution(id: $input)", "ID!", MISSING),
    (
        "createDeployment(input: $input)",
        "CreateDeploymentInput!",
        {"workflowId": MISSING, "name": "x", "environment": "STAGING"},
    ),
    ("updateDeployment(input: $input)", "UpdateDeploymentInput!", {"id": MISSING}),
    ("deleteDeployment(id: $input)", "ID!", MISSING),
]
PERMISSION_OF = {
    "createWorkflow": "workflow:write",
    "updateWorkflow": "workflow:write",
    "deleteWorkflow": "workflow:write",
    "importWorkflows": "workflow:write",
    "runWorkflow": "execution:run",
    "cancelExecution": "execution:run",
    "createDeployment": "deployment:write",
    "updateDeployment": "deployment:write",
    "deleteDeployment": "deployment:write",
}


@pytest.mark.parametrize(("call", "input_type", "value"), GUARDED)
async def test_every_mutation_is_refused_to_viewers_and_suspended_tenants(
    gql: GraphQLClient, members: Members, call: str, input_type: str, value: Any
) -> None:
    name = call.split("(", maxsplit=1)[0]
    operation = f"""
    mutation($input: {input_type}) {{
      {call} {{ __typename ... on PermissionDeniedError {{ requiredPermission }} }}
    }}
    """
    viewer = await members.member((await members.tenant()).tenant_id, role=Role.VIEWER)
    refused = (await gql.ok(operation, {"input": value}, as_=viewer))[name]
    assert refused == {
        "__typename": "PermissionDeniedError",
        "requiredPermission": PERMISSION_OF[name],
    }
    suspended = await members.tenant(status=TenantStatus.SUSPENDED)
    result = (await gql.ok(operation, {"input": value}, as_=suspended))[name]
    assert result == {"__typename": "TenantSuspendedError"}
    body = await gql.execute(operation, {"input": value})
    assert error_codes(body) == ["UNAUTHENTICATED"]


# ---------------------------------------------------------------- empty drafts

EMPTY: dict[str, list[Any]] = {"nodes": [], "edges": []}


async def test_an_empty_definition_is_a_draft_that_can_be_made_updated_and_imported(
    gql: GraphQLClient, members: Members
) -> None:
    # given
    owner = await members.tenant()
    # when a workflow is created before it is built
    created = await create(gql, owner, name="Later", definition=EMPTY)
    # then
    assert created["__typename"] == "WorkflowPayload", created
    draft = created["workflow"]
    assert (draft["status"], draft["definition"], draft["version"]) == ("DRAFT", EMPTY, 1)
    # and a built workflow may be emptied again, and an empty one imported
    built = await create_workflow(gql, owner, "Built")
    emptied = await update(gql, owner, id=built["id"], definition=EMPTY)
    assert emptied["workflow"]["definition"] == EMPTY
    entry = {"name": "Imported", "definition": EMPTY}
    document = {"format": "tenantflow.workflows", "version": 1, "workflows": [entry]}
    imported = (await gql.ok(IMPORT, {"data": document}, as_=owner))["importWorkflows"]
    assert imported["workflows"][0]["definition"] == EMPTY
    # but "nodes" is still required
    missing = await create(gql, owner, definition={"edges": []})
    assert problem_fields(missing) == ["input.definition.nodes"]


async def test_running_an_empty_draft_is_refused_and_writes_nothing(
    gql: GraphQLClient, members: Members, sessions: SessionFactory
) -> None:
    # given an empty draft of tenant A
    a, b = await members.tenant(), await members.tenant()
    draft = (await create(gql, a, name="Later", definition=EMPTY))["workflow"]
    run = """
    mutation($id: ID!) {
      runWorkflow(input: {workflowId: $id}) {
        __typename ... on Error { message } ... on ValidationError { fields { field message } }
      }
    }
    """
    # when A runs it
    refused = (await gql.ok(run, {"id": draft["id"]}, as_=a))["runWorkflow"]
    # then
    assert refused["__typename"] == "ValidationError"
    assert refused["fields"] == [
        {
            "field": "input.workflowId",
            "message": "The workflow has no nodes yet: add one before running it",
        }
    ]
    listed = "query { executions { totalCount } }"
    assert (await gql.ok(listed, as_=a))["executions"]["totalCount"] == 0
    assert await audit_rows(sessions, a, "execution.run") == []
    # and B, running A's draft, learns only that there is no such workflow
    foreign = (await gql.ok(run, {"id": draft["id"]}, as_=b))["runWorkflow"]
    assert foreign == {"__typename": "NotFoundError", "message": "Workflow not found"}
