"""Members and invitations of the active tenant.

Rules: member:manage to invite, change and remove; member:manage_owner as well when the invitation,
the member's role before or after, is OWNER; every member may remove itself; a tenant keeps at
least one OWNER. Changes to memberships lock the tenant row first, so that two concurrent changes
cannot both take the last OWNER away, nor both take the last member slot.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta

import sqlalchemy as sa
from sqlalchemy import update
from sqlalchemy.exc import IntegrityError
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from tenantflow.auth.permissions import Permission
from tenantflow.auth.principal import Principal
from tenantflow.auth.secrets import hash_token, new_invitation_token
from tenantflow.db import narrow_paths
from tenantflow.db.faults import retry_conflicts
from tenantflow.db.models import Invitation, Membership, Tenant, User
from tenantflow.db.narrow_paths import InvitationMatch
from tenantflow.db.pagination import Listing, SortOrder
from tenantflow.db.rows import updated_rows
from tenantflow.db.session import SessionFactory, TenantDb
from tenantflow.db.types import utcnow
from tenantflow.enums import Role, TenantStatus
from tenantflow.events.commit_hook import access_changed
from tenantflow.services.actor import Actor
from tenantflow.services.errors import Conflict, NotFound, PermissionDenied
from tenantflow.services.identity.account_rules import (
    email_problem,
    normalize_email,
    raise_problems,
)
from tenantflow.services.identity.origin import Origin
from tenantflow.services.identity.refresh_sessions import revoke_sessions
from tenantflow.services.operations import audit
from tenantflow.services.tenants.quotas import Resource, ensure_quota, lock_tenant

INVITATION_LIFETIME = timedelta(days=7)
MEMBER_ORDER = SortOrder.by_time(
    "member.created", col(Membership.created_at), col(Membership.id), descending=False
)
INVITATION_ORDER = SortOrder.by_time(
    "invitation.created", col(Invitation.created_at), col(Invitation.id), descending=False
)


@dataclass(frozen=True, slots=True)
class IssuedInvitation:
    invitation: Invitation
    token: str  # shown once; only its hash is stored


def _require(principal: Principal, permission: Permission) -> None:
    if not principal.can(permission):
        raise PermissionDenied(permission.value)


def pending(now: datetime) -> list[sa.ColumnElement[bool]]:
    return [
        col(Invitation.accepted_at).is_(None),
        col(Invitation.revoked_at).is_(None),
        col(Invitation.expires_at) > now,
    ]


def is_pending(invitation: InvitationMatch, now: datetime | None = None) -> bool:
    return (
        invitation.accepted_at is None
        and invitation.revoked_at is None
        and invitation.expires_at > (now or utcnow())
    )


# -- reads -----------------------------------------------------------------------------------


def members_listing() -> Listing:
    """Oldest first."""
    return Listing.of(sa.select(Membership), MEMBER_ORDER)


def invitations_listing() -> Listing:
    """Pending invitations, oldest first."""
    return Listing.of(sa.select(Invitation).where(*pending(utcnow())), INVITATION_ORDER, "pending")


# -- invitations -----------------------------------------------------------------------------


@retry_conflicts
async def invite_member(*, db: TenantDb, actor: Actor, email: str, role: Role) -> IssuedInvitation:
    """A one-time invitation, valid 7 days. The answer does not depend on whether the email has an
    account anywhere (only on this tenant's members and invitations, which the inviter sees)."""
    if role is Role.OWNER:
        _require(actor.principal, Permission.MEMBER_MANAGE_OWNER)
    raise_problems(email_problem("input.email", email))
    normalized = normalize_email(email)
    now = utcnow()
    async with db.transaction() as session:
        # Locks the tenant: the quota counts pending invitations too.
        await ensure_quota(session, Resource.MEMBERS)
        member = select(Membership.id).join(User, col(User.id) == col(Membership.user_id))
        if (await session.exec(member.where(col(User.email_normalized) == normalized))).first():
            raise Conflict("This email already belongs to a member")
        invited = select(Invitation.id).where(
            col(Invitation.email_normalized) == normalized, *pending(now)
        )
        if (await session.exec(invited)).first():
            raise Conflict("This email has a pending invitation; revoke it to invite again")
        token = new_invitation_token()
        invitation = Invitation(
            email=email.strip(),
            email_normalized=normalized,
            role=role,
            token_hash=hash_token(token),
            invited_by_id=actor.user_id,
            created_at=now,
            expires_at=now + INVITATION_LIFETIME,
        )
        session.add(invitation)
        audit.record(
            session,
            actor=actor,
            action="member.invite",
            resource_type="Invitation",
            resource_id=invitation.id,
            details={"email": invitation.email, "role": role},
        )
    return IssuedInvitation(invitation, token)


@retry_conflicts
async def revoke_invitation(*, db: TenantDb, actor: Actor, invitation_id: uuid.UUID) -> uuid.UUID:
    """Revoke a pending invitation; one that was used, revoked or expired is not found."""
    async with db.transaction() as session:
        statement = select(Invitation).where(
            col(Invitation.id) == invitation_id, *pending(utcnow())
        )
        invitation = (await session.exec(statement)).first()
        if invitation is None:
            raise NotFound("Invitation")
        if invitation.role is Role.OWNER:
            _require(actor.principal, Permission.MEMBER_MANAGE_OWNER)
        invitation.revoked_at = utcnow()
        audit.record(
            session,
            actor=actor,
            action="invitation.revoke",
            resource_type="Invitation",
            resource_id=invitation.id,
            details={"email": invitation.email, "role": invitation.role},
        )
    return invitation.id


async def find_pending_invitation(
    sessions: SessionFactory, token: str, email: str
) -> InvitationMatch:
    """The pending invitation of a token, for `email`; any other (unknown, used, revoked,
    expired, someone else's) is not found."""
    async with sessions.global_reader() as session:
        invitation = await narrow_paths.find_invitation(session, hash_token(token))
    if (
        invitation is None
        or not is_pending(invitation)
        or invitation.email_normalized != normalize_email(email)
    ):
        raise NotFound("Invitation")
    return invitation


async def join(
    session: AsyncSession,
    *,
    invitation: InvitationMatch,
    user_id: uuid.UUID,
    via: str,
    origin: Origin,
) -> Membership:
    """Use a pending invitation: the user becomes a member with its role (in `session`, scoped to
    the invitation's tenant). Its member slot was taken when it was made."""
    tenant = await lock_tenant(session)
    if tenant.status is TenantStatus.DELETED:
        raise NotFound("Invitation")
    existing = select(Membership.id).where(col(Membership.user_id) == user_id)
    if (await session.exec(existing)).first():
        raise Conflict("You are already a member of this tenant")
    now = utcnow()
    # Conditional: of two concurrent uses of one invitation, one wins.
    used = await updated_rows(
        session,
        update(Invitation)
        .where(col(Invitation.id) == invitation.id, *pending(now))
        .values(accepted_at=now),
    )
    if not used:
        raise NotFound("Invitation")
    membership = Membership(user_id=user_id, role=invitation.role, created_at=now, updated_at=now)
    session.add(membership)
    try:
        await session.flush()
    except IntegrityError:
        raise Conflict("You are already a member of this tenant") from None
    audit.record(
        session,
        actor=None,
        action="member.join",
        resource_type="Member",
        resource_id=membership.id,
        details={"userId": str(user_id), "role": invitation.role, "via": via},
        user_id=user_id,
        ip_address=origin.ip_address,
        request_id=origin.request_id,
    )
    return membership


# -- members ---------------------------------------------------------------------------------


async def _member_of_user(session: AsyncSession, user_id: uuid.UUID) -> Membership:
    statement = select(Membership).where(col(Membership.user_id) == user_id)
    membership = (await session.exec(statement)).first()
    if membership is None:
        raise NotFound("Member")
    return membership


async def _ensure_another_owner(session: AsyncSession, membership: Membership) -> None:
    others = select(Membership.id).where(
        col(Membership.role) == Role.OWNER, col(Membership.id) != membership.id
    )
    if (await session.exec(others)).first() is None:
        raise Conflict("A tenant keeps at least one OWNER")


@retry_conflicts
async def update_member_role(
    *, db: TenantDb, actor: Actor, user_id: uuid.UUID, role: Role
) -> Membership:
    """Setting the role a member has already succeeds and writes no audit row."""
    async with db.transaction() as session:
        tenant = await lock_tenant(session)
        membership = await _member_of_user(session, user_id)
        if Role.OWNER in (membership.role, role):
            _require(actor.principal, Permission.MEMBER_MANAGE_OWNER)
        if membership.role is role:
            return membership
        if membership.role is Role.OWNER:
            await _ensure_another_owner(session, membership)
        before = membership.role
        membership.role = role
        membership.updated_at = utcnow()
        tenant.auth_version += 1
        access_changed(session, tenant.id)  # open subscriptions re-check at once
        audit.record(
            session,
            actor=actor,
            action="member.update_role",
            resource_type="Member",
            resource_id=membership.id,
            details={
                "userId": str(membership.user_id),
                **audit.changes({"role": before}, {"role": role}),
            },
        )
    return membership


@retry_conflicts
async def remove_member(*, db: TenantDb, actor: Actor, user_id: uuid.UUID) -> uuid.UUID:
    """Remove a member (or leave, with one's own id); its sessions in this tenant end at once."""
    leaving = user_id is not None and user_id == actor.user_id
    if not leaving:
        _require(actor.principal, Permission.MEMBER_MANAGE)
    async with db.transaction() as session:
        tenant: Tenant = await lock_tenant(session)
        membership = await _member_of_user(session, user_id)
        if membership.role is Role.OWNER:
            if not leaving:
                _require(actor.principal, Permission.MEMBER_MANAGE_OWNER)
            await _ensure_another_owner(session, membership)
        await revoke_sessions(session, reason="member removed", user_id=membership.user_id)
        await session.delete(membership)
        tenant.auth_version += 1
        access_changed(session, tenant.id)  # open subscriptions re-check at once
        audit.record(
            session,
            actor=actor,
            action="member.remove",
            resource_type="Member",
            resource_id=membership.id,
            details={"userId": str(membership.user_id), "role": membership.role, "left": leaving},
        )
    return membership.id
