"""The probe's two scratch tenants: signed up through the API, given one row of each kind the API
can make, and removed again through the purge path.

Purging runs `services.operations.maintenance.purge` on the owner connection, as `tenantflow purge`
does, with its cut-off moved before any real deletion: the scratch tenants' deletion is backdated to
the epoch, so exactly they are purged, however recent other deleted tenants are.
"""

from __future__ import annotations

import secrets
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import sqlalchemy as sa
from sqlmodel import col

from tenantflow.db.engine import create_engine
from tenantflow.db.models import Tenant, User
from tenantflow.enums import TenantStatus
from tenantflow.global_ids import parse_global_id
from tenantflow.isolation.probe.client import Api
from tenantflow.services.operations.maintenance import Retention, purge
from tenantflow.settings import Settings

# Random: nobody else can sign in as a scratch account while the probe runs.
PASSWORD = secrets.token_urlsafe(24)
EPOCH = datetime(1970, 1, 1, tzinfo=UTC)

SIGN_UP = """
mutation($input: SignUpInput!) { signUp(input: $input) {
  __typename ... on AuthPayload { accessToken viewer { user { id } tenant { id } } }
  ... on Error { message } } }
"""
DELETE_TENANT = "mutation { deleteTenant { __typename } }"
UNFINISHED = (
    "{ executions(first: 100, filter: {status: [QUEUED, RUNNING]}) { edges { node { id } } } }"
)
CANCEL = "mutation($id: ID!) { cancelExecution(id: $id) { __typename } }"
# One row of each kind the API makes, so that every node type has an id to try.
SEED_WORKFLOW = """
mutation($input: CreateWorkflowInput!) { createWorkflow(input: $input) {
  __typename ... on WorkflowPayload { workflow { id } } } }
"""
SEED_REST = """
mutation($run: RunWorkflowInput!, $deploy: CreateDeploymentInput!, $invite: InviteMemberInput!,
         $apiKey: CreateApiKeyInput!, $providerKey: CreateProviderKeyInput!) {
  runWorkflow(input: $run) { __typename }
  createDeployment(input: $deploy) { __typename }
  inviteMember(input: $invite) { __typename }
  createApiKey(input: $apiKey) { __typename }
  createProviderKey(input: $providerKey) { __typename }
}
"""
DEFINITION = {"nodes": [{"id": "start", "type": "noop", "config": {}}], "edges": []}


@dataclass
class ScratchTenant:
    label: str
    marker: str  # in its slug, name and emails: seeing it elsewhere is a leak
    token: str
    tenant_id: uuid.UUID
    user_id: uuid.UUID
    workflow_id: str = ""
    ids: dict[str, set[str]] = field(default_factory=dict)  # node type -> global ids


def _key(global_id: str) -> uuid.UUID:
    parsed = parse_global_id(global_id)
    assert parsed is not None, global_id
    return uuid.UUID(parsed[1])


async def sign_up(api: Api, label: str) -> ScratchTenant:
    marker = f"probe{label}{secrets.token_hex(5)}"
    variables = {
        "input": {
            "email": f"{marker}@example.test",
            "password": PASSWORD,
            "name": f"Probe {marker}",
            "tenantName": f"Probe {marker}",
            "tenantSlug": marker,
        }
    }
    status, body = await api.post(SIGN_UP, variables)
    payload = (body.get("data") or {}).get("signUp") or {}
    if status != 200 or payload.get("__typename") != "AuthPayload":
        raise RuntimeError(f"signing up a scratch tenant failed: {status} {body}")
    viewer = payload["viewer"]
    return ScratchTenant(
        label=label,
        marker=marker,
        token=payload["accessToken"],
        tenant_id=_key(viewer["tenant"]["id"]),
        user_id=_key(viewer["user"]["id"]),
    )


async def seed(api: Api, tenant: ScratchTenant) -> list[str]:
    """Make the rows; the problems met, as notes (a later schema may want other inputs)."""
    status, body = await api.post(
        SEED_WORKFLOW,
        {"input": {"name": f"Flow {tenant.marker}", "definition": DEFINITION}},
        token=tenant.token,
    )
    created = ((body.get("data") or {}).get("createWorkflow") or {}).get("workflow")
    if not created:
        return [f"seeding tenant {tenant.label}: createWorkflow answered {status} {body}"]
    tenant.workflow_id = created["id"]
    variables: dict[str, Any] = {
        "run": {"workflowId": tenant.workflow_id},
        "deploy": {
            "workflowId": tenant.workflow_id,
            "name": f"Deployment {tenant.marker}",
            "environment": "DEVELOPMENT",
        },
        "invite": {"email": f"invitee-{tenant.marker}@example.test", "role": "VIEWER"},
        "apiKey": {"name": f"Key {tenant.marker}", "role": "VIEWER"},
        "providerKey": {
            "provider": "probe",
            "name": f"Provider {tenant.marker}",
            "secret": "probe-secret-" + tenant.marker,
        },
    }
    status, body = await api.post(SEED_REST, variables, token=tenant.token)
    notes = (
        [f"seeding tenant {tenant.label}: {status} {body['errors']}"] if "errors" in body else []
    )
    for name, answer in (body.get("data") or {}).items():
        kind = (answer or {}).get("__typename", "")
        if not kind.endswith("Payload"):
            notes.append(f"seeding tenant {tenant.label}: {name} answered {kind or answer}")
    return notes


async def remove(api: Api, settings: Settings, tenants: list[ScratchTenant]) -> list[str]:
    """Delete each tenant through the API, then purge exactly them; the problems met, as notes."""
    notes: list[str] = []
    for tenant in tenants:
        # Another server's executor may hold a scratch run: cancelled, it writes nothing later.
        _, body = await api.post(UNFINISHED, token=tenant.token)
        edges = ((body.get("data") or {}).get("executions") or {}).get("edges", [])
        for edge in edges:
            await api.post(CANCEL, {"id": edge["node"]["id"]}, token=tenant.token)
        status, body = await api.post(DELETE_TENANT, token=tenant.token)
        answer = ((body.get("data") or {}).get("deleteTenant") or {}).get("__typename", "")
        if not answer.endswith("Payload"):
            notes.append(f"deleting scratch tenant {tenant.label}: {status} {body}")
    tenant_ids = [t.tenant_id for t in tenants]
    engine = create_engine(settings.owner_database_url, pool_size=1)
    try:
        async with engine.begin() as connection:
            await connection.execute(
                sa.update(Tenant)
                .where(col(Tenant.id).in_(tenant_ids), col(Tenant.status) == TenantStatus.DELETED)
                .values(deleted_at=EPOCH)
            )
        retention = Retention(
            tenant_days=0,
            event_days=settings.event_retention_days,
            execution_days=settings.execution_retention_days,
        )
        report = await purge(engine, retention, now=EPOCH + timedelta(days=1))
        if sorted(report.tenants) != sorted(tenant_ids):
            notes.append(f"the purge removed {report.tenants}, expected {tenant_ids}")
        async with engine.begin() as connection:
            # Users are not tenant-owned: the purge leaves them, the probe does not.
            await connection.execute(
                sa.delete(User).where(col(User.id).in_([t.user_id for t in tenants]))
            )
    finally:
        await engine.dispose()
    return notes
