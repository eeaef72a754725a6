"""What every way of signing in shares: finding the account, starting the session in a tenant,
the principal the new tokens stand for, and the audit row (written as the user, who is not yet
an authenticated actor)."""

from __future__ import annotations

import uuid
from dataclasses import dataclass

from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from tenantflow.auth.principal import Principal
from tenantflow.db.models import Membership, Tenant, User
from tenantflow.db.session import SessionFactory
from tenantflow.enums import TenantStatus
from tenantflow.services.errors import NotFound
from tenantflow.services.identity.account_rules import normalize_email
from tenantflow.services.identity.origin import Origin
from tenantflow.services.identity.refresh_sessions import IssuedTokens, SessionIssuer, start_session
from tenantflow.services.operations import audit
from tenantflow.services.tenants.trials import effective_status


@dataclass(frozen=True, slots=True)
class SignedIn:
    tokens: IssuedTokens
    principal: Principal


async def user_by_email(sessions: SessionFactory, email: str) -> User | None:
    statement = select(User).where(col(User.email_normalized) == normalize_email(email))
    async with sessions.global_reader() as session:
        return (await session.exec(statement)).first()


async def live_tenant(session: AsyncSession, tenant_id: uuid.UUID) -> Tenant:
    """The tenant, unless it was deleted (then it is not found, like one that never existed)."""
    tenant = await session.get(Tenant, tenant_id)
    if tenant is None or tenant.status is TenantStatus.DELETED:
        raise NotFound("Tenant")
    return tenant


async def membership_of(session: AsyncSession, user_id: uuid.UUID) -> Membership:
    """The user's membership in the session's tenant."""
    statement = select(Membership).where(col(Membership.user_id) == user_id)
    membership = (await session.exec(statement)).first()
    if membership is None:
        raise NotFound("Tenant")
    return membership


def principal_of(tenant: Tenant, membership: Membership, session_id: uuid.UUID) -> Principal:
    return Principal(
        tenant_id=tenant.id,
        role=membership.role,
        tenant_status=effective_status(tenant.status, tenant.trial_ends_at),
        plan=tenant.plan,
        user_id=membership.user_id,
        session_id=session_id,
    )


async def start(
    session: AsyncSession, issuer: SessionIssuer, *, tenant: Tenant, membership: Membership
) -> SignedIn:
    """A new session of the member in `session`'s tenant."""
    tokens = await start_session(session, issuer, user_id=membership.user_id, tenant_id=tenant.id)
    return SignedIn(tokens, principal_of(tenant, membership, tokens.session_id))


def record(
    session: AsyncSession,
    *,
    action: str,
    tenant_id: uuid.UUID,
    user_id: uuid.UUID,
    origin: Origin,
    details: dict[str, object] | None = None,
) -> None:
    """The audit row of a sign-in event, about the user and by the user."""
    audit.record(
        session,
        actor=None,
        action=action,
        resource_type="User",
        resource_id=user_id,
        details=details,
        user_id=user_id,
        ip_address=origin.ip_address,
        request_id=origin.request_id,
    )
