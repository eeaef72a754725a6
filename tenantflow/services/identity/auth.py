"""Signing in and what a signed-in user does with sessions: log-in, refresh, log-out, tenant
switch, accepting an invitation, changing the password. (Signing up: sign_up.py.)

Each success starts or continues a session (tenantflow/services/sessions.py) in one tenant and
returns its tokens with the principal they stand for.

Failed logins to a known account are audited (`auth.login_failed`) in the tenant the login
targeted when the account belongs to it, otherwise in the account's oldest tenant; an email
without an account leaves no row (there is no tenant to write it to, and none may learn of it).
"""

from __future__ import annotations

import uuid

from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from tenantflow.auth import passwords
from tenantflow.auth.secrets import hash_token
from tenantflow.auth.throttle import LoginThrottle
from tenantflow.db import narrow_paths
from tenantflow.db.models import Membership, RefreshTokenFamily, Tenant, User
from tenantflow.db.session import SessionFactory
from tenantflow.db.types import utcnow
from tenantflow.enums import TenantStatus
from tenantflow.events.commit_hook import user_changed
from tenantflow.services.actor import Actor
from tenantflow.services.errors import InvalidCredentials, NotFound
from tenantflow.services.identity import sign_in
from tenantflow.services.identity.account_rules import password_problem, raise_problems
from tenantflow.services.identity.deferred import Defer, run_now
from tenantflow.services.identity.login_guard import LoginGuard
from tenantflow.services.identity.origin import Origin
from tenantflow.services.identity.principals import require_user
from tenantflow.services.identity.refresh_sessions import (
    SessionIssuer,
    claim_refresh_token,
    revoke_sessions,
    rotate_into,
    start_session,
)
from tenantflow.services.identity.sign_in import SignedIn
from tenantflow.services.identity.sign_in_budget import UNLIMITED, SignInBudget, account_key
from tenantflow.services.operations import audit
from tenantflow.services.tenants import lifecycle as tenants
from tenantflow.services.tenants import members


async def _target_tenant(
    sessions: SessionFactory, user_id: uuid.UUID, slug: str | None
) -> uuid.UUID | None:
    """The tenant a login goes to: `slug` if the user belongs to it, else (without a slug) the
    user's oldest tenant; None when there is none."""
    choices = await tenants.memberships_of(sessions=sessions, user_id=user_id)
    if slug is None:
        return choices[0].tenant_id if choices else None
    return next((m.tenant_id for m in choices if m.slug == slug), None)


async def _record_failed_login(
    sessions: SessionFactory, user: User, slug: str | None, origin: Origin
) -> None:
    tenant_id = await _target_tenant(sessions, user.id, slug)
    if tenant_id is None and slug is not None:
        tenant_id = await _target_tenant(sessions, user.id, None)
    if tenant_id is None:
        return  # an account without tenants has no trail to write to
    async with sessions.for_tenant(tenant_id).transaction() as session:
        sign_in.record(
            session, action="auth.login_failed", tenant_id=tenant_id, user_id=user.id, origin=origin
        )


# -- log-in, refresh, log-out ----------------------------------------------------------------


async def log_in(
    *,
    sessions: SessionFactory,
    issuer: SessionIssuer,
    throttle: LoginThrottle,
    email: str,
    password: str,
    tenant_slug: str | None,
    origin: Origin,
    budget: SignInBudget = UNLIMITED,
    defer: Defer = run_now,
) -> SignedIn:
    """Tokens for `tenant_slug`, or the account's oldest tenant.

    A tenant the account does not belong to is not found (asked only after the password checked).
    A wrong password does the same work before its answer whether or not the email has an
    account: one lookup, one Argon2 verification, the throttle's reads and writes; the audit row
    of a known account is written after the answer (`defer`).
    """
    await budget.attempt()
    user = await sign_in.user_by_email(sessions, email)
    account = account_key(email, user.id if user else None)
    await budget.ensure_open(account)
    if not await LoginGuard.of(throttle, email, origin.ip_address).verify(user, password):
        if user is not None:
            failed = user

            async def audit_failure() -> None:
                await _record_failed_login(sessions, failed, tenant_slug, origin)

            await defer(audit_failure)
        raise InvalidCredentials()
    assert user is not None
    await budget.signed_in(account)
    tenant_id = await _target_tenant(sessions, user.id, tenant_slug)
    if tenant_id is None:
        raise NotFound("Tenant")
    async with sessions.for_tenant(tenant_id).transaction() as session:
        tenant = await sign_in.live_tenant(session, tenant_id)
        membership = await sign_in.membership_of(session, user.id)
        sign_in.record(
            session, action="auth.login", tenant_id=tenant_id, user_id=user.id, origin=origin
        )
        return await sign_in.start(session, issuer, tenant=tenant, membership=membership)


async def _session_of_token(
    sessions: SessionFactory, refresh_token: str
) -> narrow_paths.RefreshTokenMatch:
    async with sessions.global_reader() as session:
        match = await narrow_paths.find_refresh_token(session, hash_token(refresh_token))
    if match is None:
        raise InvalidCredentials("Invalid refresh token")
    return match


async def refresh_session(
    *,
    sessions: SessionFactory,
    issuer: SessionIssuer,
    refresh_token: str,
    origin: Origin,
    budget: SignInBudget = UNLIMITED,
) -> SignedIn:
    """Rotate: the token is used up and the family's next one issued. A token presented again
    revokes its whole family (whoever holds the other copy is locked out too)."""
    await budget.attempt()
    match = await _session_of_token(sessions, refresh_token)
    signed_in: SignedIn | None = None
    async with sessions.tenant_transaction(match.tenant_id) as session:
        family = await session.get(RefreshTokenFamily, match.family_id)
        assert family is not None  # tokens cascade with their family
        # Refused here, the transaction rolls back: the token stays unused.
        await budget.signed_in(account_key("", family.user_id))
        if await claim_refresh_token(session, match.id):
            signed_in = await _continue(session, issuer, match, family, origin)
        elif await revoke_sessions(session, reason="reuse", family_id=family.id):
            sign_in.record(
                session,
                action="auth.refresh_reuse",
                tenant_id=match.tenant_id,
                user_id=family.user_id,
                origin=origin,
                details={"sessionRevoked": True},
            )
    # The revocation is committed before the refusal.
    if signed_in is None:
        raise InvalidCredentials("Invalid refresh token")
    return signed_in


async def _continue(
    session: AsyncSession,
    issuer: SessionIssuer,
    match: narrow_paths.RefreshTokenMatch,
    family: RefreshTokenFamily,
    origin: Origin,
) -> SignedIn:
    """The family's next tokens, if the session is still good."""
    user = await session.get(User, family.user_id)
    tenant = await session.get(Tenant, match.tenant_id)
    membership = (
        await session.exec(select(Membership).where(col(Membership.user_id) == family.user_id))
    ).first()
    if (
        family.revoked_at is not None
        or match.expires_at <= utcnow()
        or user is None
        or family.created_at < user.sessions_valid_after
        or tenant is None
        or tenant.status is TenantStatus.DELETED
        or membership is None
    ):
        raise InvalidCredentials("Invalid refresh token")
    tokens = rotate_into(
        session, issuer, family_id=family.id, user_id=family.user_id, tenant_id=tenant.id
    )
    sign_in.record(
        session, action="auth.refresh", tenant_id=tenant.id, user_id=user.id, origin=origin
    )
    return SignedIn(tokens, sign_in.principal_of(tenant, membership, family.id))


async def log_out(*, sessions: SessionFactory, refresh_token: str, origin: Origin) -> bool:
    """End the session of a refresh token (used or not); False when it is unknown or ended."""
    try:
        match = await _session_of_token(sessions, refresh_token)
    except InvalidCredentials:
        return False
    async with sessions.tenant_transaction(match.tenant_id) as session:
        family = await session.get(RefreshTokenFamily, match.family_id)
        assert family is not None
        if not await revoke_sessions(session, reason="logout", family_id=family.id):
            return False
        sign_in.record(
            session,
            action="auth.logout",
            tenant_id=match.tenant_id,
            user_id=family.user_id,
            origin=origin,
        )
    return True


# -- signed-in changes -------------------------------------------------------------------------


async def switch_tenant(
    *, sessions: SessionFactory, issuer: SessionIssuer, actor: Actor, tenant_id: uuid.UUID
) -> SignedIn:
    """A new session in another tenant of the user's (the current one stays signed in)."""
    user_id = require_user(actor.principal)
    choices = await tenants.memberships_of(sessions=sessions, user_id=user_id)
    if tenant_id not in {m.tenant_id for m in choices}:
        raise NotFound("Tenant")
    async with sessions.for_tenant(tenant_id).transaction() as session:
        tenant = await sign_in.live_tenant(session, tenant_id)
        membership = await sign_in.membership_of(session, user_id)
        sign_in.record(
            session,
            action="auth.login",
            tenant_id=tenant_id,
            user_id=user_id,
            origin=Origin(actor.ip_address, actor.request_id),
            details={"method": "switchTenant"},
        )
        return await sign_in.start(session, issuer, tenant=tenant, membership=membership)


async def accept_invitation(
    *, sessions: SessionFactory, issuer: SessionIssuer, actor: Actor, token: str
) -> SignedIn:
    """Join the inviting tenant as the signed-in user, whose email must be the invitation's."""
    user_id = require_user(actor.principal)
    async with sessions.global_reader() as session:
        user = await session.get(User, user_id)
    assert user is not None
    invitation = await members.find_pending_invitation(sessions, token, user.email)
    async with sessions.tenant_transaction(invitation.tenant_id) as session:
        membership = await members.join(
            session,
            invitation=invitation,
            user_id=user_id,
            via="acceptInvitation",
            origin=Origin(actor.ip_address, actor.request_id),
        )
        tenant = await sign_in.live_tenant(session, invitation.tenant_id)
        return await sign_in.start(session, issuer, tenant=tenant, membership=membership)


async def change_password(
    *,
    sessions: SessionFactory,
    issuer: SessionIssuer,
    throttle: LoginThrottle,
    actor: Actor,
    current_password: str,
    new_password: str,
) -> SignedIn:
    """Every session of the user ends, in every tenant; the new tokens start a session after it."""
    user_id = require_user(actor.principal)
    async with sessions.global_reader() as session:
        user = await session.get(User, user_id)
    assert user is not None
    guard = LoginGuard.of(throttle, user.email, actor.ip_address)
    if not await guard.verify(user, current_password):
        raise InvalidCredentials("The current password is wrong")
    raise_problems(password_problem("newPassword", new_password))
    new_hash = await passwords.hash_password(new_password)
    async with sessions.for_tenant(actor.tenant_id).transaction() as session:
        tenant = await sign_in.live_tenant(session, actor.tenant_id)
        membership = await sign_in.membership_of(session, user_id)
        stored = await session.get(User, user_id)
        assert stored is not None
        now = utcnow()
        stored.password_hash = new_hash
        # Sessions that began before this are refused (credentials.py, refresh above); the new
        # one begins at this instant, so it is not.
        stored.sessions_valid_after = now
        user_changed(session, user_id)  # the user's other subscriptions re-check at once
        stored.updated_at = now
        audit.record(
            session,
            actor=actor,
            action="auth.password_change",
            resource_type="User",
            resource_id=user_id,
        )
        tokens = await start_session(session, issuer, user_id=user_id, tenant_id=tenant.id, now=now)
        return SignedIn(tokens, sign_in.principal_of(tenant, membership, tokens.session_id))
