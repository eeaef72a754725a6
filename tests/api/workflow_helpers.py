"""Helpers shared by the API tests of workflows, executions and deployments (no tests here).

Data is made through the API where the API can make it; what only the executor or time can do
(a RUNNING execution, a key used 25 hours ago) is written straight into the tenant's rows.
"""

from __future__ import annotations

import asyncio
import uuid
from datetime import datetime
from typing import Any

import pytest
from sqlmodel import col, select

from tenantflow.db import models
from tenantflow.db.session import SessionFactory
from tenantflow.enums import DeploymentStatus, ExecutionStatus
from tenantflow.schema.ids import parse_global_id
from tenantflow.services.tenants import quotas
from tenantflow.services.workflows import workflows as workflow_service
from tests.api.conftest import GraphQLClient, Member

DEFINITION: dict[str, Any] = {
    "nodes": [
        {"id": "start", "type": "noop", "config": {}},
        {"id": "wait", "type": "delay", "config": {"ms": 10}},
    ],
    "edges": [{"from": "start", "to": "wait"}],
}

WORKFLOW_FIELDS = """
    id name description status definition version createdAt updatedAt deletedAt
    owner { id email }
"""
CREATE_WORKFLOW = f"""
mutation($input: CreateWorkflowInput!) {{
  createWorkflow(input: $input) {{
    __typename
    ... on WorkflowPayload {{ workflow {{ {WORKFLOW_FIELDS} }} }}
    ... on Error {{ message }}
    ... on ValidationError {{ fields {{ field message }} }}
    ... on QuotaExceededError {{ resource limit plan }}
    ... on PermissionDeniedError {{ requiredPermission }}
  }}
}}
"""
RUN_WORKFLOW = """
mutation($input: RunWorkflowInput!) {
  runWorkflow(input: $input) {
    __typename
    ... on ExecutionPayload {
      execution { id status workflowVersion definition input queuedAt triggeredBy { id } }
    }
    ... on Error { message }
    ... on ValidationError { fields { field message } }
    ... on QuotaExceededError { resource limit plan }
    ... on PermissionDeniedError { requiredPermission }
  }
}
"""
CREATE_DEPLOYMENT = """
mutation($input: CreateDeploymentInput!) {
  createDeployment(input: $input) {
    __typename
    ... on DeploymentPayload {
      deployment { id name environment status url version workflowVersion workflow { id } }
    }
    ... on Error { message }
    ... on ValidationError { fields { field message } }
    ... on QuotaExceededError { resource limit plan }
    ... on PermissionDeniedError { requiredPermission }
  }
}
"""


def key_of(global_id: str) -> uuid.UUID:
    parsed = parse_global_id(global_id)
    assert parsed is not None, global_id
    return uuid.UUID(parsed[1])


async def create_workflow(
    gql: GraphQLClient, member: Member, name: str = "Flow", **fields: Any
) -> dict[str, Any]:
    """A workflow made through the API; its fields as the API returns them."""
    variables = {"input": {"name": name, "definition": DEFINITION, **fields}}
    result = (await gql.ok(CREATE_WORKFLOW, variables, as_=member))["createWorkflow"]
    assert result["__typename"] == "WorkflowPayload", result
    workflow: dict[str, Any] = result["workflow"]
    return workflow


async def run_workflow(
    gql: GraphQLClient, member: Member, workflow_id: str, **fields: Any
) -> dict[str, Any]:
    variables = {"input": {"workflowId": workflow_id, **fields}}
    result = (await gql.ok(RUN_WORKFLOW, variables, as_=member))["runWorkflow"]
    assert result["__typename"] == "ExecutionPayload", result
    execution: dict[str, Any] = result["execution"]
    return execution


async def create_deployment(
    gql: GraphQLClient,
    member: Member,
    workflow_id: str,
    name: str = "web",
    environment: str = "PRODUCTION",
) -> dict[str, Any]:
    variables = {"input": {"workflowId": workflow_id, "name": name, "environment": environment}}
    result = (await gql.ok(CREATE_DEPLOYMENT, variables, as_=member))["createDeployment"]
    assert result["__typename"] == "DeploymentPayload", result
    deployment: dict[str, Any] = result["deployment"]
    return deployment


async def set_execution(
    sessions: SessionFactory,
    member: Member,
    execution_id: str,
    *,
    status: ExecutionStatus,
    queued_at: datetime | None = None,
    started_at: datetime | None = None,
    finished_at: datetime | None = None,
) -> None:
    """What the executor would do: move an execution along (steps and events left out)."""
    async with sessions.tenant_transaction(member.tenant_id) as session:
        row = (
            await session.exec(
                select(models.Execution).where(col(models.Execution.id) == key_of(execution_id))
            )
        ).one()
        row.status = status
        row.queued_at = queued_at or row.queued_at
        row.started_at = started_at
        row.finished_at = finished_at
        session.add(row)


async def set_deployment_status(
    sessions: SessionFactory, member: Member, deployment_id: str, status: DeploymentStatus
) -> None:
    async with sessions.tenant_transaction(member.tenant_id) as session:
        row = (
            await session.exec(
                select(models.Deployment).where(col(models.Deployment.id) == key_of(deployment_id))
            )
        ).one()
        row.status = status
        session.add(row)


async def audit_rows(
    sessions: SessionFactory, member: Member, action: str | None = None
) -> list[models.AuditLog]:
    """The tenant's audit rows, oldest first (optionally of one action)."""
    statement = select(models.AuditLog).order_by(
        col(models.AuditLog.created_at), col(models.AuditLog.id)
    )
    if action is not None:
        statement = statement.where(col(models.AuditLog.action) == action)
    async with sessions.tenant_reader(member.tenant_id) as session:
        return list((await session.exec(statement)).all())


def nested(depth: int) -> Any:
    """A JSON value `depth` levels of arrays deep."""
    value: Any = 0
    for _ in range(depth):
        value = [value]
    return value


def widen_race_windows(monkeypatch: pytest.MonkeyPatch) -> None:
    """Hold every quota count and workflow lock for 50 ms inside its transaction.

    Concurrent requests then overlap where a missing lock would let several of them through
    (without this, each request's short transaction tends to finish before the next begins).
    """
    count, lock = quotas.current_usage, workflow_service.lock_workflow

    async def slow_count(*args: Any, **kwargs: Any) -> int:
        value = await count(*args, **kwargs)
        await asyncio.sleep(0.05)
        return value

    async def slow_lock(*args: Any, **kwargs: Any) -> models.Workflow:
        workflow = await lock(*args, **kwargs)
        await asyncio.sleep(0.05)
        return workflow

    monkeypatch.setattr(quotas, "current_usage", slow_count)
    monkeypatch.setattr(workflow_service, "lock_workflow", slow_lock)
