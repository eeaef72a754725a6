"""Test data made through the tenant-scoped session, as the application makes it."""

from __future__ import annotations

import hashlib
import secrets
import uuid
from dataclasses import dataclass, field
from datetime import timedelta

from tenantflow.db import models as m
from tenantflow.db.session import SessionFactory
from tenantflow.db.types import utcnow
from tenantflow.enums import (
    DeploymentStatus,
    Environment,
    ExecutionStatus,
    Plan,
    Role,
    TenantStatus,
)

DEFINITION = {"nodes": [{"id": "a", "type": "noop", "config": {}}], "edges": []}


def sha256(value: str) -> str:
    return hashlib.sha256(value.encode()).hexdigest()


@dataclass
class TenantRows:
    """One tenant with a row in every tenant-owned table; ids by table name."""

    tenant_id: uuid.UUID
    user_id: uuid.UUID
    ids: dict[str, uuid.UUID] = field(default_factory=dict)
    api_key_hash: str = ""
    refresh_token_hash: str = ""
    invitation_hash: str = ""


async def create_user(sessions: SessionFactory, email: str | None = None) -> uuid.UUID:
    email = email or f"user-{uuid.uuid4().hex[:10]}@example.test"
    async with sessions.global_transaction() as session:
        user = m.User(email=email, email_normalized=email.lower(), password_hash="not-a-hash")
        session.add(user)
    return user.id


async def create_tenant(
    sessions: SessionFactory,
    *,
    status: TenantStatus = TenantStatus.ACTIVE,
    deleted_days_ago: int | None = None,
) -> TenantRows:
    """A tenant, its owner, and one row in each tenant-owned table."""
    user_id = await create_user(sessions)
    tenant_id = uuid.uuid4()
    rows = TenantRows(tenant_id=tenant_id, user_id=user_id)
    now = utcnow()
    secret = secrets.token_urlsafe(8)
    rows.api_key_hash = sha256("key" + secret)
    rows.refresh_token_hash = sha256("refresh" + secret)
    rows.invitation_hash = sha256("invite" + secret)
    async with sessions.tenant_transaction(tenant_id) as session:
        session.add(
            m.Tenant(
                id=tenant_id,
                name=f"Tenant {tenant_id.hex[:6]}",
                slug=f"t-{tenant_id.hex[:12]}",
                plan=Plan.FREE,
                status=status,
                deleted_at=now - timedelta(days=deleted_days_ago)
                if deleted_days_ago is not None
                else None,
            )
        )
        await session.flush()
        workflow = m.Workflow(name="Flow", definition=DEFINITION, owner_id=user_id)
        family = m.RefreshTokenFamily(user_id=user_id)
        session.add_all([workflow, family])
        await session.flush()
        execution = m.Execution(
            workflow_id=workflow.id,
            workflow_version=1,
            definition=DEFINITION,
            status=ExecutionStatus.QUEUED,
            queued_at=now,
        )
        session.add(execution)
        await session.flush()
        others: list[object] = [
            m.Membership(user_id=user_id, role=Role.OWNER),
            m.Invitation(
                email="invitee@example.test",
                email_normalized="invitee@example.test",
                role=Role.EDITOR,
                token_hash=rows.invitation_hash,
                expires_at=now + timedelta(days=7),
            ),
            m.ApiKey(
                name="ci", prefix="tfk_abcdefgh", key_hash=rows.api_key_hash, role=Role.EDITOR
            ),
            m.RefreshToken(
                family_id=family.id,
                token_hash=rows.refresh_token_hash,
                expires_at=now + timedelta(days=30),
            ),
            m.ExecutionStep(
                execution_id=execution.id,
                node_id="a",
                node_type="noop",
                status=ExecutionStatus.SUCCEEDED,
            ),
            m.EventSequence(last_seq=1),
            m.ExecutionEvent(
                seq=1,
                execution_id=execution.id,
                workflow_id=workflow.id,
                status=ExecutionStatus.QUEUED,
            ),
            m.IdempotencyKey(key="retry-1", execution_id=execution.id),
            m.UsageCounter(period=now.strftime("%Y-%m"), executions=1),
            m.Deployment(
                workflow_id=workflow.id,
                name="prod",
                environment=Environment.PRODUCTION,
                status=DeploymentStatus.PENDING,
                workflow_version=1,
            ),
            m.TenantModule(module_key="analytics", enabled=True, enabled_at=now),
            m.TenantDataKey(wrapped_key=b"\x00" * 60, master_key_id="test"),
            m.ProviderKey(
                provider="openai", name="main", ciphertext=b"\x01" * 40, masked_key="sk-…abcd"
            ),
            m.AuditLog(
                action="workflow.create",
                resource_type="Workflow",
                resource_id=str(workflow.id),
                actor_user_id=user_id,
            ),
        ]
        session.add_all(others)
        await session.flush()
        for row in [workflow, family, execution, *others]:
            table = row.__tablename__  # type: ignore[attr-defined]
            rows.ids[table] = getattr(row, "id", tenant_id)
    return rows
