"""`tenantflow seed-demo`: two demo tenants with users and workflows, for trying the API."""

from __future__ import annotations

import uuid
from dataclasses import dataclass

from sqlmodel import col, select

from tenantflow.auth.passwords import hash_password
from tenantflow.db.engine import create_engine
from tenantflow.db.models import Membership, Tenant, User, Workflow
from tenantflow.db.session import SessionFactory
from tenantflow.enums import Plan, Role, TenantStatus, WorkflowStatus
from tenantflow.settings import Settings

DEMO_PASSWORD = "demo-password-1"  # noqa: S105  (printed for trying the demo)


@dataclass(frozen=True)
class DemoTenant:
    slug: str
    name: str
    plan: Plan
    members: tuple[tuple[str, str, Role], ...]  # (email, name, role)
    workflows: tuple[str, ...]


DEMO_TENANTS = (
    DemoTenant(
        slug="acme",
        name="Acme Corp",
        plan=Plan.PRO,
        members=(
            ("alice@acme.test", "Alice Owner", Role.OWNER),
            ("bob@acme.test", "Bob Editor", Role.EDITOR),
            ("vera@acme.test", "Vera Viewer", Role.VIEWER),
        ),
        workflows=("Nightly sync", "Invoice reminder", "Lead enrichment"),
    ),
    DemoTenant(
        slug="globex",
        name="Globex",
        plan=Plan.FREE,
        members=(
            ("carol@globex.test", "Carol Owner", Role.OWNER),
            ("alice@acme.test", "Alice Owner", Role.ADMIN),
        ),
        workflows=("Welcome email",),
    ),
)


def demo_definition(label: str) -> dict[str, object]:
    return {
        "nodes": [
            {"id": "start", "type": "noop", "config": {}},
            {"id": "wait", "type": "delay", "config": {"ms": 200}},
            {"id": "tag", "type": "transform", "config": {"set": {"workflow": label}}},
        ],
        "edges": [{"from": "start", "to": "wait"}, {"from": "wait", "to": "tag"}],
    }


async def _user(sessions: SessionFactory, email: str, name: str) -> uuid.UUID:
    async with sessions.global_transaction() as session:
        existing = (
            await session.exec(select(User).where(col(User.email_normalized) == email.lower()))
        ).first()
        if existing:
            return existing.id
        user = User(
            email=email,
            email_normalized=email.lower(),
            name=name,
            password_hash=await hash_password(DEMO_PASSWORD),
        )
        session.add(user)
        return user.id


async def _seed_tenant(sessions: SessionFactory, demo: DemoTenant) -> bool:
    async with sessions.global_transaction() as session:
        if (await session.exec(select(Tenant.id).where(col(Tenant.slug) == demo.slug))).first():
            return False
    user_ids = [await _user(sessions, email, name) for email, name, _ in demo.members]
    tenant_id = uuid.uuid4()
    async with sessions.tenant_transaction(tenant_id) as session:
        session.add(
            Tenant(
                id=tenant_id,
                slug=demo.slug,
                name=demo.name,
                plan=demo.plan,
                status=TenantStatus.ACTIVE,
            )
        )
        await session.flush()
        for user_id, (_, _, role) in zip(user_ids, demo.members, strict=True):
            session.add(Membership(user_id=user_id, role=role))
        for label in demo.workflows:
            session.add(
                Workflow(
                    name=label,
                    definition=demo_definition(label),
                    status=WorkflowStatus.ACTIVE,
                    owner_id=user_ids[0],
                )
            )
    return True


async def seed(settings: Settings) -> list[str]:
    engine = create_engine(settings.database_url)
    sessions = SessionFactory(engine)
    lines = []
    try:
        for demo in DEMO_TENANTS:
            created = await _seed_tenant(sessions, demo)
            lines.append(f"tenant {demo.slug}: {'created' if created else 'already there'}")
            for email, _, role in demo.members:
                lines.append(f"  {role.value:<6} {email}  password: {DEMO_PASSWORD}")
    finally:
        await engine.dispose()
    return lines
