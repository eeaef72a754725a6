"""Workflows, their executions, execution steps, deployments and the per-tenant event stream."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlmodel import Field

from tenantflow.db.base import TenantOwned, created_at_field, new_id, optional_timestamp_field
from tenantflow.db.types import JSONType, enum_column_type
from tenantflow.enums import DeploymentStatus, Environment, ExecutionStatus, WorkflowStatus


def _workflow_reference() -> sa.ForeignKeyConstraint:
    # Composite: the database itself refuses a row that points at another tenant's workflow.
    return sa.ForeignKeyConstraint(
        ["tenant_id", "workflow_id"], ["workflows.tenant_id", "workflows.id"]
    )


def _execution_reference() -> sa.ForeignKeyConstraint:
    return sa.ForeignKeyConstraint(
        ["tenant_id", "execution_id"],
        ["executions.tenant_id", "executions.id"],
        ondelete="CASCADE",
    )


class Workflow(TenantOwned, table=True):
    __tablename__ = "workflows"
    __table_args__ = (
        sa.UniqueConstraint("tenant_id", "id"),
        sa.Index(None, "tenant_id", "updated_at", "id"),
        sa.Index(None, "tenant_id", "created_at", "id"),
        # NAME orders case-insensitively.
        sa.Index("ix_workflows_tenant_id_lower_name_id", "tenant_id", sa.text("lower(name)"), "id"),
    )

    id: uuid.UUID = Field(default_factory=new_id, primary_key=True)
    name: str = Field(max_length=200)
    description: str | None = Field(default=None, max_length=2000)
    status: WorkflowStatus = Field(
        default=WorkflowStatus.DRAFT, sa_type=enum_column_type(WorkflowStatus)
    )
    definition: dict[str, Any] = Field(sa_type=JSONType, nullable=False)
    version: int = Field(default=1)
    owner_id: uuid.UUID | None = Field(default=None, foreign_key="users.id")
    created_at: datetime = created_at_field()
    updated_at: datetime = created_at_field()
    deleted_at: datetime | None = optional_timestamp_field()


class Execution(TenantOwned, table=True):
    __tablename__ = "executions"
    __table_args__ = (
        _workflow_reference(),
        sa.UniqueConstraint("tenant_id", "id"),
        sa.Index(None, "tenant_id", "queued_at", "id"),
        sa.Index(None, "tenant_id", "workflow_id", "queued_at", "id"),
        # The executor's queue: claimable work across tenants, oldest first.
        sa.Index(
            "ix_executions_claimable",
            "queued_at",
            postgresql_where=sa.text("status IN ('QUEUED', 'RUNNING')"),
            sqlite_where=sa.text("status IN ('QUEUED', 'RUNNING')"),
        ),
    )

    id: uuid.UUID = Field(default_factory=new_id, primary_key=True)
    workflow_id: uuid.UUID
    workflow_version: int
    definition: dict[str, Any] = Field(sa_type=JSONType, nullable=False)
    status: ExecutionStatus = Field(
        default=ExecutionStatus.QUEUED, sa_type=enum_column_type(ExecutionStatus)
    )
    input: Any | None = Field(default=None, sa_type=JSONType)
    output: Any | None = Field(default=None, sa_type=JSONType)
    error: str | None = Field(default=None, sa_type=sa.Text)
    triggered_by_id: uuid.UUID | None = Field(default=None, foreign_key="users.id")
    queued_at: datetime = created_at_field()
    started_at: datetime | None = optional_timestamp_field()
    finished_at: datetime | None = optional_timestamp_field()
    # The executor's lease: who runs it and until when, renewed by a heartbeat.
    lease_owner: str | None = Field(default=None, max_length=100)
    lease_expires_at: datetime | None = optional_timestamp_field()
    attempts: int = Field(default=0)
    cancel_requested_at: datetime | None = optional_timestamp_field()


class ExecutionStep(TenantOwned, table=True):
    __tablename__ = "execution_steps"
    __table_args__ = (
        _execution_reference(),
        sa.UniqueConstraint("tenant_id", "execution_id", "node_id"),
    )

    id: uuid.UUID = Field(default_factory=new_id, primary_key=True)
    execution_id: uuid.UUID
    node_id: str = Field(max_length=100)
    node_type: str = Field(max_length=100)
    status: ExecutionStatus = Field(sa_type=enum_column_type(ExecutionStatus))
    started_at: datetime | None = optional_timestamp_field()
    finished_at: datetime | None = optional_timestamp_field()
    output: Any | None = Field(default=None, sa_type=JSONType)
    error: str | None = Field(default=None, sa_type=sa.Text)


class Deployment(TenantOwned, table=True):
    __tablename__ = "deployments"
    __table_args__ = (
        _workflow_reference(),
        sa.Index(None, "tenant_id", "updated_at", "id"),
        sa.Index(None, "tenant_id", "workflow_id", "updated_at", "id"),
    )

    id: uuid.UUID = Field(default_factory=new_id, primary_key=True)
    workflow_id: uuid.UUID
    name: str = Field(max_length=200)
    environment: Environment = Field(sa_type=enum_column_type(Environment))
    status: DeploymentStatus = Field(
        default=DeploymentStatus.PENDING, sa_type=enum_column_type(DeploymentStatus)
    )
    url: str | None = Field(default=None, max_length=2048)
    version: int = Field(default=0)
    workflow_version: int
    created_at: datetime = created_at_field()
    updated_at: datetime = created_at_field()


class EventSequence(TenantOwned, table=True):
    """The last event position of a tenant, taken FOR UPDATE by each writer.

    Positions then follow commit order, which a database sequence does not guarantee.
    """

    __tablename__ = "event_sequences"

    tenant_id: uuid.UUID = Field(
        default=None, foreign_key="tenants.id", ondelete="CASCADE", primary_key=True
    )
    last_seq: int = Field(default=0, sa_type=sa.BigInteger)


class ExecutionEvent(TenantOwned, table=True):
    __tablename__ = "execution_events"
    __table_args__ = (
        _execution_reference(),
        sa.UniqueConstraint("tenant_id", "seq"),
        sa.Index(None, "tenant_id", "execution_id", "seq"),
        sa.Index(None, "at"),
    )

    id: uuid.UUID = Field(default_factory=new_id, primary_key=True)
    seq: int = Field(sa_type=sa.BigInteger)
    execution_id: uuid.UUID
    workflow_id: uuid.UUID
    status: ExecutionStatus = Field(sa_type=enum_column_type(ExecutionStatus))
    # A snapshot of the step that changed, when the event is about one step.
    step: dict[str, Any] | None = Field(default=None, sa_type=JSONType)
    at: datetime = created_at_field()


class IdempotencyKey(TenantOwned, table=True):
    """runWorkflow's idempotency keys: a retry within 24 hours returns the first execution."""

    __tablename__ = "idempotency_keys"
    __table_args__ = (_execution_reference(),)

    tenant_id: uuid.UUID = Field(
        default=None, foreign_key="tenants.id", ondelete="CASCADE", primary_key=True
    )
    key: str = Field(max_length=200, primary_key=True)
    execution_id: uuid.UUID
    created_at: datetime = created_at_field()


class UsageCounter(TenantOwned, table=True):
    """Executions started per tenant and calendar month (UTC); deletions never lower it."""

    __tablename__ = "usage_counters"

    tenant_id: uuid.UUID = Field(
        default=None, foreign_key="tenants.id", ondelete="CASCADE", primary_key=True
    )
    period: str = Field(max_length=7, primary_key=True)  # YYYY-MM
    executions: int = Field(default=0)


__all__ = [
    "Deployment",
    "EventSequence",
    "Execution",
    "ExecutionEvent",
    "ExecutionStep",
    "IdempotencyKey",
    "UsageCounter",
    "Workflow",
]
