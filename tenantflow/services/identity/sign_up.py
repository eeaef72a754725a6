"""signUp: a new account with its first tenant, or joining the tenant of an invitation.

An email that has an account already: with that account's password, the new tenant (or the
invitation) goes to that account; with another password, Conflict. The password check runs under
the login throttle, since this too tells a right password from a wrong one.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass

from sqlalchemy.exc import IntegrityError

from tenantflow.auth import passwords
from tenantflow.auth.throttle import LoginThrottle
from tenantflow.db.models import User
from tenantflow.db.session import SessionFactory
from tenantflow.db.types import utcnow
from tenantflow.enums import Plan
from tenantflow.services.errors import Conflict
from tenantflow.services.identity import sign_in
from tenantflow.services.identity.account_rules import (
    email_problem,
    name_problem,
    normalize_email,
    password_problem,
    raise_problems,
)
from tenantflow.services.identity.login_guard import LoginGuard
from tenantflow.services.identity.origin import Origin
from tenantflow.services.identity.refresh_sessions import SessionIssuer
from tenantflow.services.identity.sign_in import SignedIn
from tenantflow.services.identity.sign_in_budget import UNLIMITED, SignInBudget, account_key
from tenantflow.services.tenants import lifecycle as tenants
from tenantflow.services.tenants import members

USER_NAME_MAX_LENGTH = 200


@dataclass(frozen=True, slots=True)
class SignUp:
    email: str
    password: str
    name: str | None = None
    tenant_name: str | None = None
    tenant_slug: str | None = None
    plan: Plan | None = None
    invitation_token: str | None = None


async def sign_up(
    *,
    sessions: SessionFactory,
    issuer: SessionIssuer,
    throttle: LoginThrottle,
    form: SignUp,
    origin: Origin,
    budget: SignInBudget = UNLIMITED,
) -> SignedIn:
    """The new session of the account, in its new tenant or the inviting one."""
    await budget.attempt()
    account_problems = (
        email_problem("input.email", form.email),
        password_problem("input.password", form.password),
        name_problem("input.name", form.name, max_length=USER_NAME_MAX_LENGTH, required=False),
    )
    if form.invitation_token is not None:
        raise_problems(*account_problems)
        return await _join(sessions, issuer, throttle, form, origin, budget=budget)
    new_tenant = tenants.NewTenant.checked(
        name=form.tenant_name,
        slug=form.tenant_slug,
        plan=form.plan,
        fields={"name": "input.tenantName", "slug": "input.tenantSlug", "plan": "input.plan"},
        other_problems=account_problems,
    )
    user, new_account = await _existing_or_new_user(sessions, throttle, form, origin, budget)
    tenant_id = uuid.uuid4()
    try:
        async with sessions.for_tenant(tenant_id).transaction() as session:
            if new_account:
                session.add(user)
                await session.flush()  # the membership references the user
            tenant, membership = await tenants.add_tenant(
                session, tenant_id=tenant_id, new=new_tenant, owner_id=user.id, now=utcnow()
            )
            sign_in.record(
                session,
                action="auth.sign_up",
                tenant_id=tenant_id,
                user_id=user.id,
                origin=origin,
                details={"email": user.email, "tenantSlug": tenant.slug, "plan": tenant.plan},
            )
            return await sign_in.start(session, issuer, tenant=tenant, membership=membership)
    except IntegrityError as error:
        raise tenants.unique_conflict(error) from None


async def _existing_or_new_user(
    sessions: SessionFactory,
    throttle: LoginThrottle,
    form: SignUp,
    origin: Origin,
    budget: SignInBudget,
) -> tuple[User, bool]:
    """The account of the email (its password checked), or a new one not yet added; and whether
    it is new. Either counts as a sign-in of the account (LOGIN)."""
    existing = await sign_in.user_by_email(sessions, form.email)
    if existing is not None:
        account = account_key(form.email, existing.id)
        await budget.ensure_open(account)
        guard = LoginGuard.of(throttle, form.email, origin.ip_address)
        if not await guard.verify(existing, form.password):
            raise Conflict("An account with this email already exists")
        await budget.signed_in(account)
        return existing, False
    user = User(
        email=form.email.strip(),
        email_normalized=normalize_email(form.email),
        name=(form.name or "").strip() or None,
        password_hash=await passwords.hash_password(form.password),
    )
    await budget.signed_in(account_key(form.email, user.id))
    return user, True


async def _join(
    sessions: SessionFactory,
    issuer: SessionIssuer,
    throttle: LoginThrottle,
    form: SignUp,
    origin: Origin,
    *,
    budget: SignInBudget,
) -> SignedIn:
    """Sign up with an invitation: the account joins the inviting tenant, with no tenant of its
    own. The audit trail has the join (`member.join`, via signUp)."""
    assert form.invitation_token is not None
    invitation = await members.find_pending_invitation(sessions, form.invitation_token, form.email)
    user, new_account = await _existing_or_new_user(sessions, throttle, form, origin, budget)
    try:
        async with sessions.tenant_transaction(invitation.tenant_id) as session:
            if new_account:
                session.add(user)
                await session.flush()
            membership = await members.join(
                session,
                invitation=invitation,
                user_id=user.id,
                via="signUp" if new_account else "signUp (existing account)",
                origin=origin,
            )
            tenant = await sign_in.live_tenant(session, invitation.tenant_id)
            return await sign_in.start(session, issuer, tenant=tenant, membership=membership)
    except IntegrityError as error:
        raise tenants.unique_conflict(error) from None
