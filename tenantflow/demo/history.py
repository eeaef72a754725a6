"""The demo tenants' configuration and work, made through the services as their members would
make it (so every change leaves its audit row), each piece only when it is not there yet."""

from __future__ import annotations

import secrets
import uuid
from dataclasses import dataclass

from sqlmodel import col, select

from tenantflow.db.models import Deployment, ProviderKey, Workflow
from tenantflow.db.session import SessionFactory
from tenantflow.demo.content import DEMO_PROVIDER_SECRET_PREFIX, DemoTenant, DemoWorkflow
from tenantflow.enums import DeploymentStatus, WorkflowStatus
from tenantflow.global_ids import encode_global_id
from tenantflow.secrets.envelope import MasterKeyring
from tenantflow.services.actor import Actor
from tenantflow.services.operations import modules, provider_keys
from tenantflow.services.tenants import lifecycle as tenants
from tenantflow.services.workflows import deployments, workflows
from tenantflow.services.workflows.inputs import KEEP


@dataclass(frozen=True)
class NewWorkflow:
    """A workflow this seed made, with the demo entry it came from (its runs are still to do)."""

    id: uuid.UUID
    demo: DemoWorkflow


async def configure(
    sessions: SessionFactory, keyring: MasterKeyring, demo: DemoTenant, admin: Actor
) -> str | None:
    """Settings, modules and the provider key; the key's global id, if the tenant has one.

    Settings and modules are idempotent in the services themselves (no change, no audit row)."""
    if demo.settings:
        await tenants.update_tenant(
            db=sessions.for_tenant(admin.tenant_id), actor=admin, settings=demo.settings
        )
    for key in demo.modules:
        await modules.enable_module(db=sessions.for_tenant(admin.tenant_id), actor=admin, key=key)
    if demo.provider_key is None:
        return None
    provider, name = demo.provider_key
    async with sessions.tenant_reader(admin.tenant_id) as session:
        statement = select(ProviderKey.id).where(col(ProviderKey.name) == name)
        key_id = (await session.exec(statement)).first()
    if key_id is None:
        created = await provider_keys.create_provider_key(
            db=sessions.for_tenant(admin.tenant_id),
            keyring=keyring,
            actor=admin,
            provider=provider,
            name=name,
            secret=DEMO_PROVIDER_SECRET_PREFIX + secrets.token_urlsafe(24),
        )
        key_id = created.id
    return encode_global_id(provider_keys.TYPE_NAME, key_id)


async def add_workflows(
    sessions: SessionFactory, demo: DemoTenant, admin: Actor, key_id: str | None
) -> list[NewWorkflow]:
    """The demo's workflows that are missing (by name), as `admin` makes them."""
    async with sessions.tenant_reader(admin.tenant_id) as session:
        statement = select(Workflow.name).where(col(Workflow.deleted_at).is_(None))
        existing = set((await session.exec(statement)).all())
    made: list[NewWorkflow] = []
    for entry in demo.workflows:
        if entry.name in existing:
            continue
        archived = entry.status is WorkflowStatus.ARCHIVED
        workflow = await workflows.create_workflow(
            db=sessions.for_tenant(admin.tenant_id),
            actor=admin,
            name=entry.name,
            description=entry.description,
            definition=entry.definition(key_id),
            status=WorkflowStatus.ACTIVE if archived else entry.status,
        )
        if archived:  # retired after use, as archived workflows are
            await workflows.update_workflow(
                db=sessions.for_tenant(admin.tenant_id),
                actor=admin,
                workflow_id=workflow.id,
                status=WorkflowStatus.ARCHIVED,
            )
        made.append(NewWorkflow(workflow.id, entry))
    return made


async def add_deployments(sessions: SessionFactory, demo: DemoTenant, admin: Actor) -> None:
    """The demo's deployments that are missing (by name), each moved along its statuses."""
    async with sessions.tenant_reader(admin.tenant_id) as session:
        existing = set((await session.exec(select(Deployment.name))).all())
        rows = (await session.exec(select(Workflow.id, Workflow.name))).all()
    workflow_ids = {name: workflow_id for workflow_id, name in rows}
    for entry in demo.deployments:
        if entry.name in existing:
            continue
        deployment = await deployments.create_deployment(
            db=sessions.for_tenant(admin.tenant_id),
            actor=admin,
            workflow_id=workflow_ids[entry.workflow],
            name=entry.name,
            environment=entry.environment,
        )
        for status in entry.moves:
            going_live = status is DeploymentStatus.LIVE and entry.url is not None
            await deployments.update_deployment(
                db=sessions.for_tenant(admin.tenant_id),
                actor=admin,
                deployment_id=deployment.id,
                status=status,
                url=entry.url if going_live else KEEP,
            )
