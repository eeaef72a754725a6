"""Tenants: creating one (with its first OWNER), its name and settings, deleting it, its usage.

Also the operator's controls (`tenantflow tenant activate|suspend|set-plan`), the one way to
ENTERPRISE, and the tenant switcher's list of a user's tenants.
"""

from __future__ import annotations

import enum
import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Literal

from sqlalchemy import update
from sqlalchemy.exc import IntegrityError
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from tenantflow.db import narrow_paths
from tenantflow.db.faults import retry_conflicts
from tenantflow.db.models import ApiKey, Membership, Module, Tenant, TenantModule
from tenantflow.db.rows import updated_rows
from tenantflow.db.session import SessionFactory, TenantDb
from tenantflow.db.types import utcnow
from tenantflow.enums import Plan, Role, TenantStatus
from tenantflow.events.commit_hook import access_changed
from tenantflow.services.actor import Actor
from tenantflow.services.errors import Conflict, FieldProblem, NotFound
from tenantflow.services.identity.account_rules import (
    name_problem,
    plan_problem,
    raise_problems,
    slug_problem,
)
from tenantflow.services.identity.principals import require_user
from tenantflow.services.identity.refresh_sessions import revoke_sessions
from tenantflow.services.operations import audit
from tenantflow.services.tenants import settings as tenant_settings
from tenantflow.services.tenants.quotas import (
    PLAN_LIMITS,
    PlanLimits,
    Resource,
    current_usage,
    lock_tenant,
)
from tenantflow.services.tenants.trials import initial_status

TENANT_NAME_MAX_LENGTH = 100


class _Unchanged(enum.Enum):
    UNCHANGED = "unchanged"


# An update argument left out (as opposed to None, which clears).
UNCHANGED = _Unchanged.UNCHANGED
Unchanged = Literal[_Unchanged.UNCHANGED]


@dataclass(frozen=True, slots=True)
class NewTenant:
    name: str
    slug: str
    plan: Plan

    @classmethod
    def checked(
        cls,
        *,
        name: str | None,
        slug: str | None,
        plan: Plan | None,
        fields: Mapping[str, str],
        other_problems: Sequence[FieldProblem | None] = (),
    ) -> NewTenant:
        """Validated input; `fields` maps name, slug and plan to their paths in the input.

        `other_problems` of the same input are reported with these.
        """
        chosen = plan or Plan.FREE
        raise_problems(
            *other_problems,
            name_problem(fields["name"], name, max_length=TENANT_NAME_MAX_LENGTH, required=True),
            slug_problem(fields["slug"], slug),
            plan_problem(fields["plan"], chosen),
        )
        assert name is not None
        assert slug is not None
        return cls(name=name.strip(), slug=slug, plan=chosen)


@dataclass(frozen=True, slots=True)
class TenantMembership:
    """A tenant a user belongs to, for the tenant switcher."""

    tenant_id: uuid.UUID
    name: str
    slug: str
    role: Role


@dataclass(frozen=True, slots=True)
class Usage:
    workflows: int
    executions_this_month: int
    deployments: int
    provider_keys: int
    members: int
    limits: PlanLimits


def unique_conflict(error: IntegrityError) -> Conflict:
    """The Conflict for a unique constraint a concurrent request won (slug or email)."""
    detail = str(error.orig)
    if "slug" in detail:
        return Conflict("This slug is taken")
    if "email" in detail:
        return Conflict("An account with this email already exists")
    return Conflict("This conflicts with a concurrent change; try again")


async def ensure_slug_free(session: AsyncSession, slug: str) -> None:
    taken = (await session.exec(select(Tenant.id).where(col(Tenant.slug) == slug))).first()
    if taken is not None:
        raise Conflict("This slug is taken")


async def add_tenant(
    session: AsyncSession,
    *,
    tenant_id: uuid.UUID,
    new: NewTenant,
    owner_id: uuid.UUID,
    now: datetime,
) -> tuple[Tenant, Membership]:
    """A tenant and its first OWNER, added to `session` (scoped to `tenant_id`).

    STARTER and PRO start a trial. The owner row must exist (or be flushed) already.
    """
    await ensure_slug_free(session, new.slug)
    status, trial_ends_at = initial_status(new.plan, now)
    tenant = Tenant(
        id=tenant_id,
        name=new.name,
        slug=new.slug,
        plan=new.plan,
        status=status,
        trial_ends_at=trial_ends_at,
        created_at=now,
        updated_at=now,
    )
    session.add(tenant)
    await session.flush()  # the membership references the tenant
    owner = Membership(user_id=owner_id, role=Role.OWNER, created_at=now, updated_at=now)
    session.add(owner)
    await session.flush()
    return tenant, owner


async def create_tenant(
    *, sessions: SessionFactory, actor: Actor, name: str, slug: str, plan: Plan | None
) -> Tenant:
    """A further tenant for the signed-in user, who becomes its OWNER."""
    user_id = require_user(actor.principal)
    new = NewTenant.checked(
        name=name,
        slug=slug,
        plan=plan,
        fields={"name": "input.name", "slug": "input.slug", "plan": "input.plan"},
    )
    tenant_id = uuid.uuid4()
    try:
        async with sessions.for_tenant(tenant_id).transaction() as session:
            tenant, _ = await add_tenant(
                session, tenant_id=tenant_id, new=new, owner_id=user_id, now=utcnow()
            )
            audit.record(
                session,
                actor=actor,
                action="tenant.create",
                resource_type="Tenant",
                resource_id=tenant_id,
                details={"name": new.name, "slug": new.slug, "plan": new.plan},
            )
    except IntegrityError as error:
        raise unique_conflict(error) from None
    return tenant


async def get_tenant(*, db: TenantDb) -> Tenant | None:
    """A tenant that has not been deleted."""
    async with db.reader() as session:
        tenant = await session.get(Tenant, db.tenant_id)
    return tenant if tenant and tenant.status is not TenantStatus.DELETED else None


async def _required_by_enabled_modules(session: AsyncSession) -> dict[str, str]:
    """Settings that an enabled module needs -> the first such module's key."""
    statement = (
        select(Module)
        .join(TenantModule, col(TenantModule.module_key) == col(Module.key))
        .where(col(TenantModule.enabled).is_(True))
        .order_by(col(Module.position), col(Module.key))
    )
    needed: dict[str, str] = {}
    for module in (await session.exec(statement)).all():
        for setting in module.required_settings:
            needed.setdefault(setting, module.key)
    return needed


def _snapshot(name: str, settings: Mapping[str, Any]) -> dict[str, Any]:
    shown = tenant_settings.current(settings)
    return {"name": name, **{f"settings.{key}": value for key, value in shown.items()}}


@retry_conflicts
async def update_tenant(
    *,
    db: TenantDb,
    actor: Actor,
    name: str | Unchanged | None = UNCHANGED,
    settings: Mapping[str, str | None] | None = None,
) -> Tenant:
    """Change the name and settings given; a setting given as None (or empty) is cleared.

    Changing nothing succeeds and writes no audit row.
    """
    problems: list[FieldProblem | None] = []
    if name is not UNCHANGED:
        problems.append(
            name_problem("input.name", name, max_length=TENANT_NAME_MAX_LENGTH, required=True)
        )
    async with db.transaction() as session:
        # Locked: enabling a module checks the settings this may clear.
        tenant = await lock_tenant(session)
        new_settings, setting_problems = tenant_settings.apply(
            tenant.settings, settings or {}, "input.settings"
        )
        problems.extend(setting_problems)
        cleared = [
            name for name in settings or {} if not tenant_settings.is_set(new_settings, name)
        ]
        needed = await _required_by_enabled_modules(session) if cleared else {}
        problems.extend(
            FieldProblem(f"input.settings.{name}", f"The {needed[name]} module needs this setting")
            for name in cleared
            if name in needed
        )
        raise_problems(*problems)
        new_name = tenant.name if name is UNCHANGED or name is None else name.strip()
        changes = audit.changes(
            _snapshot(tenant.name, tenant.settings), _snapshot(new_name, new_settings)
        )
        if not changes:
            return tenant
        tenant.name = new_name
        tenant.settings = new_settings
        tenant.updated_at = utcnow()
        audit.record(
            session,
            actor=actor,
            action="tenant.update",
            resource_type="Tenant",
            resource_id=actor.tenant_id,
            details=changes,
        )
    return tenant


async def delete_tenant(*, db: TenantDb, actor: Actor) -> uuid.UUID:
    """Soft delete: DELETED at once, every session and API key revoked; purged after retention."""
    now = utcnow()
    async with db.transaction() as session:
        tenant = await lock_tenant(session)
        before = tenant.status
        tenant.status = TenantStatus.DELETED
        tenant.deleted_at = now
        tenant.updated_at = now
        tenant.auth_version += 1
        access_changed(session, tenant.id)  # open subscriptions re-check at once
        await revoke_sessions(session, reason="tenant deleted")
        await updated_rows(
            session,
            update(ApiKey).where(col(ApiKey.revoked_at).is_(None)).values(revoked_at=now),
        )
        audit.record(
            session,
            actor=actor,
            action="tenant.delete",
            resource_type="Tenant",
            resource_id=actor.tenant_id,
            details={"status": {"before": before, "after": TenantStatus.DELETED}},
        )
    return actor.tenant_id


async def tenant_usage(*, db: TenantDb, plan: Plan) -> Usage:
    async with db.reader() as session:
        counts = {resource: await current_usage(session, resource) for resource in Resource}
    return Usage(
        workflows=counts[Resource.WORKFLOWS],
        executions_this_month=counts[Resource.EXECUTIONS],
        deployments=counts[Resource.DEPLOYMENTS],
        provider_keys=counts[Resource.PROVIDER_KEYS],
        members=counts[Resource.MEMBERS],
        limits=PLAN_LIMITS[plan],
    )


async def memberships_of(*, sessions: SessionFactory, user_id: uuid.UUID) -> list[TenantMembership]:
    """The user's tenants that are not deleted, oldest membership first."""
    async with sessions.global_reader() as session:
        memberships = await narrow_paths.user_memberships(session, user_id)
        if not memberships:
            return []
        statement = select(Tenant).where(
            col(Tenant.id).in_([m.tenant_id for m in memberships]),
            col(Tenant.status) != TenantStatus.DELETED,
        )
        tenants = {tenant.id: tenant for tenant in (await session.exec(statement)).all()}
    return [
        TenantMembership(m.tenant_id, tenants[m.tenant_id].name, tenants[m.tenant_id].slug, m.role)
        for m in memberships
        if m.tenant_id in tenants
    ]


# -- the operator's controls ------------------------------------------------------------------


def _jsonable(values: Mapping[str, Any]) -> dict[str, Any]:
    return {k: v.isoformat() if isinstance(v, datetime) else v for k, v in values.items()}


async def _operator_change(
    sessions: SessionFactory, slug: str, change: Mapping[str, Any]
) -> Tenant:
    """Apply `change` (column -> value) to the tenant `slug`; the audit row names the operator."""
    async with sessions.global_reader() as session:
        found = (await session.exec(select(Tenant).where(col(Tenant.slug) == slug))).first()
    if found is None or found.status is TenantStatus.DELETED:
        raise NotFound("Tenant")
    async with sessions.tenant_transaction(found.id) as session:
        tenant = await lock_tenant(session)
        before = {name: getattr(tenant, name) for name in change}
        for name, value in change.items():
            setattr(tenant, name, value)
        changes = audit.changes(_jsonable(before), _jsonable(change))
        if changes:
            tenant.updated_at = utcnow()
            if change.get("status") is TenantStatus.SUSPENDED:
                tenant.auth_version += 1
                access_changed(session, tenant.id)
            audit.record(
                session,
                actor=None,
                action="tenant.update",
                resource_type="Tenant",
                resource_id=tenant.id,
                details={**changes, "by": "operator"},
            )
    return tenant


async def activate_tenant(*, sessions: SessionFactory, slug: str) -> Tenant:
    """ACTIVE, ending a trial or a suspension."""
    return await _operator_change(
        sessions, slug, {"status": TenantStatus.ACTIVE, "trial_ends_at": None}
    )


async def suspend_tenant(*, sessions: SessionFactory, slug: str) -> Tenant:
    return await _operator_change(sessions, slug, {"status": TenantStatus.SUSPENDED})


async def set_plan(*, sessions: SessionFactory, slug: str, plan: Plan) -> Tenant:
    """Any plan, ENTERPRISE included; the status stays as it is."""
    return await _operator_change(sessions, slug, {"plan": plan})
