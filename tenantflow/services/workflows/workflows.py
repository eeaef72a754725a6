"""Workflow rules: create, update (optimistic concurrency), soft delete, import and export.

Each change runs in one tenant transaction with its quota check and its audit row.
"""

from __future__ import annotations

import hashlib
import json
import uuid
from collections.abc import Sequence
from typing import Any

import sqlalchemy as sa
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from tenantflow.db.faults import retry_conflicts
from tenantflow.db.locking import excluding_references, locked
from tenantflow.db.models import Deployment, Execution, Workflow
from tenantflow.db.session import TenantDb
from tenantflow.db.types import utcnow
from tenantflow.definitions.node_base import join_key
from tenantflow.enums import DeploymentStatus, ExecutionStatus, WorkflowStatus
from tenantflow.services.actor import Actor
from tenantflow.services.errors import Conflict, NotFound
from tenantflow.services.operations import audit
from tenantflow.services.tenants.quotas import Resource, ensure_quota
from tenantflow.services.workflows.inputs import (
    DESCRIPTION_MAX_CHARS,
    KEEP,
    NAME_MAX_CHARS,
    Patch,
    Problems,
    not_null,
)

RESOURCE_TYPE = "Workflow"
EXPORT_FORMAT = "tenantflow.workflows"
EXPORT_VERSION = 1
_ENTRY_KEYS = ("name", "description", "status", "definition")
_DOCUMENT_KEYS = ("format", "version", "workflows")
_IN_FLIGHT = (ExecutionStatus.QUEUED, ExecutionStatus.RUNNING)
_AT_REST = (DeploymentStatus.STOPPED, DeploymentStatus.FAILED)


async def lock_workflow(
    session: AsyncSession, workflow_id: uuid.UUID, *, for_deletion: bool = False
) -> Workflow:
    """The live (not deleted) workflow, locked until the transaction ends; NotFound otherwise.

    Changes and deployments of one workflow take this lock; a deletion takes it so that it also
    shuts out runs (which hold the workflow shared): a run cannot slip in between a deletion's
    check and its write.
    """
    statement = select(Workflow).where(
        col(Workflow.id) == workflow_id, col(Workflow.deleted_at).is_(None)
    )
    statement = excluding_references(statement) if for_deletion else locked(statement)
    workflow = (await session.exec(statement)).first()
    if workflow is None:
        raise NotFound(RESOURCE_TYPE)
    return workflow


def _check_fields(
    problems: Problems,
    prefix: str,
    *,
    name: Patch[str | None],
    description: Patch[str | None],
    definition: Patch[Any],
    status: Patch[WorkflowStatus | None],
) -> None:
    if name is not KEEP:
        problems.text(name, f"{prefix}.name", max_chars=NAME_MAX_CHARS, required=True)
    if description is not KEEP:
        problems.text(
            description,
            f"{prefix}.description",
            max_chars=DESCRIPTION_MAX_CHARS,
            required=False,
            single_line=False,
        )
    if definition is not KEEP:
        if definition is None:
            problems.add(f"{prefix}.definition", "must not be null")
        else:
            problems.definition(definition, f"{prefix}.definition")
    if status is not KEEP:
        not_null(problems, status, f"{prefix}.status")


def _snapshot(workflow: Workflow) -> dict[str, Any]:
    """What an audit row tells of a workflow; the definition by fingerprint (it may be large)."""
    return {
        "name": workflow.name,
        "description": workflow.description,
        "status": workflow.status.value,
        "definition": _fingerprint(workflow.definition),
        "version": workflow.version,
    }


def _fingerprint(definition: Any) -> str:
    encoded = json.dumps(definition, sort_keys=True, separators=(",", ":")).encode()
    return "sha256:" + hashlib.sha256(encoded).hexdigest()[:16]


@retry_conflicts
async def create_workflow(
    *,
    db: TenantDb,
    actor: Actor,
    name: str,
    description: str | None,
    definition: Any,
    status: WorkflowStatus | None,
) -> Workflow:
    """A new workflow at version 1, owned by the acting user (none for an API key)."""
    problems = Problems()
    _check_fields(
        problems, "input", name=name, description=description, definition=definition, status=status
    )
    problems.raise_if_any()
    assert status is not None  # refused above
    async with db.transaction() as session:
        await ensure_quota(session, Resource.WORKFLOWS)
        workflow = Workflow(
            name=name,
            description=description,
            definition=definition,
            status=status,
            owner_id=actor.user_id,
        )
        session.add(workflow)
        audit.record(
            session,
            actor=actor,
            action="workflow.create",
            resource_type=RESOURCE_TYPE,
            resource_id=workflow.id,
            details={"name": name, "status": status.value, "version": workflow.version},
        )
    return workflow


@retry_conflicts
async def update_workflow(
    *,
    db: TenantDb,
    actor: Actor,
    workflow_id: uuid.UUID,
    expected_version: int | None = None,
    name: Patch[str | None] = KEEP,
    description: Patch[str | None] = KEEP,
    definition: Patch[Any] = KEEP,
    status: Patch[WorkflowStatus | None] = KEEP,
) -> Workflow:
    """Apply the given fields (KEEP leaves one as it is); the version goes up by one.

    With `expected_version`, a workflow at any other version is refused with Conflict.
    """
    problems = Problems()
    _check_fields(
        problems, "input", name=name, description=description, definition=definition, status=status
    )
    problems.raise_if_any()
    async with db.transaction() as session:
        workflow = await lock_workflow(session, workflow_id)
        if expected_version is not None and expected_version != workflow.version:
            raise Conflict(
                f"The workflow is at version {workflow.version}, not {expected_version}:"
                " reload it and apply the change again"
            )
        before = _snapshot(workflow)
        if isinstance(name, str):
            workflow.name = name
        if description is not KEEP:
            workflow.description = description
        if definition is not KEEP:
            workflow.definition = definition
        if isinstance(status, WorkflowStatus):
            workflow.status = status
        workflow.version += 1
        workflow.updated_at = utcnow()
        session.add(workflow)
        audit.record(
            session,
            actor=actor,
            action="workflow.update",
            resource_type=RESOURCE_TYPE,
            resource_id=workflow.id,
            details=audit.changes(before, _snapshot(workflow)),
        )
    return workflow


@retry_conflicts
async def delete_workflow(*, db: TenantDb, actor: Actor, workflow_id: uuid.UUID) -> None:
    """Soft delete; refused while executions are in flight or deployments are not at rest."""
    async with db.transaction() as session:
        workflow = await lock_workflow(session, workflow_id, for_deletion=True)
        running = select(sa.func.count()).where(
            col(Execution.workflow_id) == workflow_id, col(Execution.status).in_(_IN_FLIGHT)
        )
        if (await session.exec(running)).one():
            raise Conflict("The workflow has queued or running executions")
        deployed = select(sa.func.count()).where(
            col(Deployment.workflow_id) == workflow_id, col(Deployment.status).not_in(_AT_REST)
        )
        if (await session.exec(deployed)).one():
            raise Conflict("The workflow has deployments that are not stopped or failed")
        now = utcnow()
        workflow.deleted_at = now
        workflow.updated_at = now
        session.add(workflow)
        audit.record(
            session,
            actor=actor,
            action="workflow.delete",
            resource_type=RESOURCE_TYPE,
            resource_id=workflow.id,
            details={"name": workflow.name, "version": workflow.version},
        )


def _import_entries(data: object) -> list[dict[str, Any]]:
    """The entries of an import document, or ValidationFailed naming every problem."""
    problems = Problems()
    problems.json(data, "data")
    problems.raise_if_any()
    if not isinstance(data, dict):
        problems.add("data", 'must be an object with "format", "version" and "workflows"')
        problems.raise_if_any()
    assert isinstance(data, dict)
    for key in data:
        if key not in _DOCUMENT_KEYS:
            problems.add(
                join_key("data", str(key)),
                f"is not allowed; allowed keys: {', '.join(_DOCUMENT_KEYS)}",
            )
    if data.get("format") != EXPORT_FORMAT:
        problems.add("data.format", f'must be "{EXPORT_FORMAT}"')
    version = data.get("version")
    if isinstance(version, bool) or version != EXPORT_VERSION:
        problems.add("data.version", f"must be {EXPORT_VERSION}")
    entries = data.get("workflows")
    if not isinstance(entries, list):
        problems.add("data.workflows", "must be a list of workflows")
        problems.raise_if_any()
    assert isinstance(entries, list)
    for index, entry in enumerate(entries):
        _check_entry(problems, entry, f"data.workflows[{index}]")
    problems.raise_if_any()
    return entries


def _check_entry(problems: Problems, entry: object, path: str) -> None:
    if not isinstance(entry, dict):
        problems.add(path, 'must be an object with "name" and "definition"')
        return
    for key in entry:
        if key not in _ENTRY_KEYS:
            problems.add(
                join_key(path, str(key)), f"is not allowed; allowed keys: {', '.join(_ENTRY_KEYS)}"
            )
    name, description = entry.get("name"), entry.get("description")
    if not isinstance(name, str):
        problems.add(f"{path}.name", "is required: a string")
    else:
        problems.text(name, f"{path}.name", max_chars=NAME_MAX_CHARS, required=True)
    if description is not None and not isinstance(description, str):
        problems.add(f"{path}.description", "must be a string or null")
    elif description is not None:
        problems.text(
            description,
            f"{path}.description",
            max_chars=DESCRIPTION_MAX_CHARS,
            required=False,
            single_line=False,
        )
    status = entry.get("status", WorkflowStatus.DRAFT.value)
    if not isinstance(status, str) or status not in WorkflowStatus.__members__:
        allowed = ", ".join(WorkflowStatus.__members__)
        problems.add(f"{path}.status", f"must be one of {allowed}")
    if "definition" not in entry:
        problems.add(f"{path}.definition", "is required")
    else:
        problems.definition(entry["definition"], f"{path}.definition")


@retry_conflicts
async def import_workflows(*, db: TenantDb, actor: Actor, data: object) -> list[Workflow]:
    """Create every workflow of an export document, or none: one bad entry refuses them all."""
    entries = _import_entries(data)
    async with db.transaction() as session:
        if entries:
            await ensure_quota(session, Resource.WORKFLOWS, adding=len(entries))
        workflows = [
            Workflow(
                name=entry["name"],
                description=entry.get("description"),
                definition=entry["definition"],
                status=WorkflowStatus(entry.get("status", WorkflowStatus.DRAFT.value)),
                owner_id=actor.user_id,
            )
            for entry in entries
        ]
        session.add_all(workflows)
        audit.record(
            session,
            actor=actor,
            action="workflow.import",
            resource_type=RESOURCE_TYPE,
            details={"count": len(workflows), "workflowIds": [str(w.id) for w in workflows]},
        )
    return workflows


async def export_workflows(
    *, db: TenantDb, workflow_ids: Sequence[uuid.UUID] | None
) -> dict[str, Any]:
    """The portable document importWorkflows accepts: no ids, no owner, nothing of the tenant.

    All live workflows (oldest first) when `workflow_ids` is None; otherwise those of the given
    ids that exist, in the order given (unknown and deleted ids are left out).
    """
    statement = select(Workflow).where(col(Workflow.deleted_at).is_(None))
    if workflow_ids is not None:
        statement = statement.where(col(Workflow.id).in_(list(workflow_ids)))
    statement = statement.order_by(col(Workflow.created_at), col(Workflow.id))
    async with db.reader() as session:
        rows = list((await session.exec(statement)).all())
    if workflow_ids is not None:
        position = {key: index for index, key in enumerate(dict.fromkeys(workflow_ids))}
        rows.sort(key=lambda row: position[row.id])
    return {
        "format": EXPORT_FORMAT,
        "version": EXPORT_VERSION,
        "workflows": [
            {
                "name": row.name,
                "description": row.description,
                "status": row.status.value,
                "definition": row.definition,
            }
            for row in rows
        ],
    }
