"""Reading workflows, executions and deployments: filters, orders, pages and counts.

Lists select their rows without the large JSON columns (definitions, inputs, outputs), which are
loaded per request only when a query selects them (`tenantflow.dataloaders.workflows`).
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from functools import lru_cache
from typing import Any, cast

import sqlalchemy as sa
from sqlalchemy.orm import QueryableAttribute, defer
from sqlalchemy.sql.elements import ColumnElement
from sqlmodel import col, select

from tenantflow.db.models import Deployment, Execution, Workflow
from tenantflow.db.pagination import Listing, SortOrder
from tenantflow.enums import DeploymentStatus, Environment, ExecutionStatus, WorkflowStatus

Condition = ColumnElement[bool]
# Stands for an id that can name no row (malformed, another type, another tenant): a filter on
# it matches nothing, exactly like an id that does not exist.
NO_ROW = uuid.UUID(int=0)


class WorkflowOrderField(StrEnum):
    UPDATED_AT = "UPDATED_AT"
    CREATED_AT = "CREATED_AT"
    NAME = "NAME"


@dataclass(frozen=True, slots=True)
class WorkflowCriteria:
    statuses: tuple[WorkflowStatus, ...] | None = None
    search: str | None = None
    updated_after: datetime | None = None
    updated_before: datetime | None = None


@dataclass(frozen=True, slots=True)
class ExecutionCriteria:
    workflow_id: uuid.UUID | None = None
    statuses: tuple[ExecutionStatus, ...] | None = None
    queued_after: datetime | None = None
    queued_before: datetime | None = None


@dataclass(frozen=True, slots=True)
class DeploymentCriteria:
    statuses: tuple[DeploymentStatus, ...] | None = None
    environment: Environment | None = None
    workflow_id: uuid.UUID | None = None
    search: str | None = None


# Light rows for lists: the JSON columns raise if touched, so a missing loader shows at once.
def _lazy(attribute: object) -> Any:
    """Leave a column out of the loaded rows; touching it raises instead of querying."""
    return defer(cast("QueryableAttribute[Any]", attribute), raiseload=True)


WORKFLOW_LIGHT = (_lazy(Workflow.definition),)
EXECUTION_LIGHT = (_lazy(Execution.definition), _lazy(Execution.input), _lazy(Execution.output))

EXECUTION_ORDER = SortOrder.by_time("QUEUED_AT", col(Execution.queued_at), col(Execution.id))
DEPLOYMENT_ORDER = SortOrder.by_time("UPDATED_AT", col(Deployment.updated_at), col(Deployment.id))


def duration_ms(started_at: datetime | None, finished_at: datetime | None) -> int | None:
    """How long an execution ran, in whole milliseconds; None until it has started and ended."""
    if started_at is None or finished_at is None:
        return None
    return round((finished_at - started_at).total_seconds() * 1000)


@lru_cache(maxsize=65536)
def workflow_executions_scope(workflow_id: uuid.UUID, criteria: ExecutionCriteria) -> str:
    """The cursor scope of one workflow's executions: its cursors fit no other list."""
    return EXECUTION_ORDER.scope("workflow", workflow_id, criteria)


def workflow_deployments_scope(workflow_id: uuid.UUID) -> str:
    return DEPLOYMENT_ORDER.scope("workflow", workflow_id)


def workflow_order(field: WorkflowOrderField, *, descending: bool) -> SortOrder:
    match field:
        case WorkflowOrderField.UPDATED_AT:
            key: Any = col(Workflow.updated_at)
        case WorkflowOrderField.CREATED_AT:
            key = col(Workflow.created_at)
        case WorkflowOrderField.NAME:
            # lower(name): served by ix_workflows_tenant_id_lower_name_id.
            return SortOrder.by_text(
                field.value,
                sa.func.lower(col(Workflow.name)),
                col(Workflow.id),
                descending=descending,
            )
    return SortOrder.by_time(field.value, key, col(Workflow.id), descending=descending)


def contains_text(column: Any, text: str) -> Condition:
    """A case-insensitive literal substring match: `%`, `_` and `\\` match themselves."""
    escaped = text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    pattern = sa.func.lower(sa.literal(f"%{escaped}%", type_=sa.String()))
    result: Condition = sa.func.lower(column).like(pattern, escape="\\")
    return result


def workflow_conditions(criteria: WorkflowCriteria) -> list[Condition]:
    conditions: list[Condition] = [col(Workflow.deleted_at).is_(None)]
    if criteria.statuses is not None:
        conditions.append(col(Workflow.status).in_(criteria.statuses))
    if criteria.search:
        conditions.append(contains_text(col(Workflow.name), criteria.search))
    if criteria.updated_after is not None:
        conditions.append(col(Workflow.updated_at) > criteria.updated_after)
    if criteria.updated_before is not None:
        conditions.append(col(Workflow.updated_at) < criteria.updated_before)
    return conditions


def execution_conditions(criteria: ExecutionCriteria) -> list[Condition]:
    conditions: list[Condition] = []
    if criteria.workflow_id is not None:
        conditions.append(col(Execution.workflow_id) == criteria.workflow_id)
    if criteria.statuses is not None:
        conditions.append(col(Execution.status).in_(criteria.statuses))
    if criteria.queued_after is not None:
        conditions.append(col(Execution.queued_at) > criteria.queued_after)
    if criteria.queued_before is not None:
        conditions.append(col(Execution.queued_at) < criteria.queued_before)
    return conditions


def deployment_conditions(criteria: DeploymentCriteria) -> list[Condition]:
    conditions: list[Condition] = []
    if criteria.statuses is not None:
        conditions.append(col(Deployment.status).in_(criteria.statuses))
    if criteria.environment is not None:
        conditions.append(col(Deployment.environment) == criteria.environment)
    if criteria.workflow_id is not None:
        conditions.append(col(Deployment.workflow_id) == criteria.workflow_id)
    if criteria.search:
        conditions.append(contains_text(col(Deployment.name), criteria.search))
    return conditions


def workflows_statement(criteria: WorkflowCriteria) -> sa.Select[Any]:
    return select(Workflow).options(*WORKFLOW_LIGHT).where(*workflow_conditions(criteria))


def executions_statement(conditions: Sequence[Condition]) -> sa.Select[Any]:
    return select(Execution).options(*EXECUTION_LIGHT).where(*conditions)


def deployments_statement(conditions: Sequence[Condition]) -> sa.Select[Any]:
    return select(Deployment).where(*conditions)


def workflows_listing(criteria: WorkflowCriteria, order: SortOrder) -> Listing:
    """The tenant's workflows (deleted ones never appear)."""
    return Listing.of(workflows_statement(criteria), order, criteria)


def executions_listing(criteria: ExecutionCriteria) -> Listing:
    """The tenant's executions, newest first (those of deleted workflows included)."""
    statement = executions_statement(execution_conditions(criteria))
    return Listing.of(statement, EXECUTION_ORDER, criteria)


def deployments_listing(criteria: DeploymentCriteria) -> Listing:
    """The tenant's deployments, most recently updated first."""
    statement = deployments_statement(deployment_conditions(criteria))
    return Listing.of(statement, DEPLOYMENT_ORDER, criteria)
