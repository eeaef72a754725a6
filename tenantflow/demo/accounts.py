"""The demo's accounts: users, tenants and memberships, made once and found again after that.

Made directly (the demo tenants start ACTIVE on their plan, which sign-up cannot do); everything
they hold afterwards is made through the services (tenantflow.demo.history).
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass

from sqlmodel import col, select

from tenantflow.auth.passwords import hash_password
from tenantflow.auth.principal import Principal
from tenantflow.db.models import Membership, Tenant, User
from tenantflow.db.session import SessionFactory
from tenantflow.demo.content import DEMO_PASSWORD, DemoTenant
from tenantflow.enums import TenantStatus
from tenantflow.services.actor import Actor

# On every audit row the demo writes, in place of an HTTP request's id.
REQUEST_ID = "seed-demo"


@dataclass(frozen=True)
class DemoAccounts:
    tenant_id: uuid.UUID
    created: bool
    actors: dict[str, Actor]  # by email: the members, acting in this tenant


async def ensure_accounts(sessions: SessionFactory, demo: DemoTenant) -> DemoAccounts:
    """The tenant and its members, made if the tenant is new; their actors either way."""
    user_ids = [await _ensure_user(sessions, email, name) for email, name, _ in demo.members]
    async with sessions.global_transaction() as session:
        found = (await session.exec(select(Tenant).where(col(Tenant.slug) == demo.slug))).first()
    created = found is None
    tenant = found or await _add_tenant(sessions, demo, user_ids)
    actors = {
        email: Actor(
            Principal(
                tenant_id=tenant.id,
                role=role,
                tenant_status=tenant.status,
                plan=tenant.plan,
                user_id=user_id,
            ),
            request_id=REQUEST_ID,
        )
        for (email, _, role), user_id in zip(demo.members, user_ids, strict=True)
    }
    return DemoAccounts(tenant.id, created, actors)


async def _ensure_user(sessions: SessionFactory, email: str, name: str) -> uuid.UUID:
    async with sessions.global_transaction() as session:
        statement = select(User).where(col(User.email_normalized) == email.lower())
        existing = (await session.exec(statement)).first()
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


async def _add_tenant(
    sessions: SessionFactory, demo: DemoTenant, user_ids: list[uuid.UUID]
) -> Tenant:
    tenant_id = uuid.uuid4()
    async with sessions.tenant_transaction(tenant_id) as session:
        tenant = Tenant(
            id=tenant_id, slug=demo.slug, name=demo.name, plan=demo.plan, status=TenantStatus.ACTIVE
        )
        session.add(tenant)
        await session.flush()
        for user_id, (_, _, role) in zip(user_ids, demo.members, strict=True):
            session.add(Membership(user_id=user_id, role=role))
    return tenant
