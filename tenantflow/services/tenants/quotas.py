"""Plan limits, and the quota check that runs inside the writing transaction.

The check locks the tenant row first (FOR UPDATE on PostgreSQL; SQLite's writers are serialised by
BEGIN IMMEDIATE), so two concurrent requests cannot both take the last free slot.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum

import sqlalchemy as sa
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from tenantflow.db.counters import increment
from tenantflow.db.locking import locked
from tenantflow.db.models import (
    Deployment,
    Invitation,
    Membership,
    ProviderKey,
    Tenant,
    UsageCounter,
    Workflow,
)
from tenantflow.db.session import require_tenant
from tenantflow.db.types import utcnow
from tenantflow.enums import Plan
from tenantflow.services.errors import NotFound, QuotaExceeded


class Resource(StrEnum):
    """What a plan counts; the values name the resource in QuotaExceededError."""

    WORKFLOWS = "workflows"
    EXECUTIONS = "executions"
    DEPLOYMENTS = "deployments"
    PROVIDER_KEYS = "providerKeys"
    MEMBERS = "members"


@dataclass(frozen=True, slots=True)
class PlanLimits:
    """None means unlimited."""

    workflows: int | None
    executions_per_month: int | None
    deployments: int | None
    provider_keys: int | None
    members: int | None
    requests_per_minute: int | None
    cost_per_minute: int | None

    def limit_of(self, resource: Resource) -> int | None:
        return {
            Resource.WORKFLOWS: self.workflows,
            Resource.EXECUTIONS: self.executions_per_month,
            Resource.DEPLOYMENTS: self.deployments,
            Resource.PROVIDER_KEYS: self.provider_keys,
            Resource.MEMBERS: self.members,
        }[resource]


# The contract's plan table. ENTERPRISE's request and cost rates are limits too.
PLAN_LIMITS: dict[Plan, PlanLimits] = {
    Plan.FREE: PlanLimits(5, 1_000, 2, 3, 3, 60, 6_000),
    Plan.STARTER: PlanLimits(50, 10_000, 20, 10, 10, 300, 30_000),
    Plan.PRO: PlanLimits(500, 100_000, 1_000, 50, 50, 1_000, 100_000),
    Plan.ENTERPRISE: PlanLimits(None, None, None, None, None, 10_000, 1_000_000),
}


def usage_period(now: datetime | None = None) -> str:
    """The calendar month (UTC) executions are counted in."""
    return (now or utcnow()).strftime("%Y-%m")


async def current_usage(session: AsyncSession, resource: Resource) -> int:
    """The tenant's (the session's) current count of `resource`."""
    now = utcnow()
    match resource:
        case Resource.WORKFLOWS:
            statement = select(sa.func.count()).where(col(Workflow.deleted_at).is_(None))
        case Resource.DEPLOYMENTS:
            statement = select(sa.func.count()).select_from(Deployment)
        case Resource.PROVIDER_KEYS:
            statement = select(sa.func.count()).where(col(ProviderKey.revoked_at).is_(None))
        case Resource.EXECUTIONS:
            counter = select(UsageCounter.executions).where(
                col(UsageCounter.period) == usage_period(now)
            )
            return int((await session.exec(counter)).first() or 0)
        case Resource.MEMBERS:
            members = (await session.exec(select(sa.func.count()).select_from(Membership))).one()
            pending = select(sa.func.count()).where(
                col(Invitation.accepted_at).is_(None),
                col(Invitation.revoked_at).is_(None),
                col(Invitation.expires_at) > now,
            )
            return int(members) + int((await session.exec(pending)).one())
    return int((await session.exec(statement)).one())


async def lock_tenant(session: AsyncSession) -> Tenant:
    """The session's tenant row, locked until the transaction ends: quota checks serialise."""
    statement = locked(select(Tenant).where(col(Tenant.id) == require_tenant(session)))
    tenant = (await session.exec(statement)).first()
    if tenant is None:
        raise NotFound("Tenant")
    return tenant


async def take_execution(session: AsyncSession, tenant: Tenant, now: datetime) -> None:
    """Count one more execution this month for the session's tenant; QuotaExceeded (and the
    count rolled back with the transaction) when the plan has no slot left.

    The month's counter row is the lock: runs of a tenant wait for each other only there, and
    only from this statement to their commit (so call it late).
    """
    taken = await increment(
        session,
        UsageCounter,
        keys={"tenant_id": tenant.id, "period": usage_period(now)},
        column="executions",
    )
    limit = PLAN_LIMITS[tenant.plan].executions_per_month
    if limit is not None and taken > limit:
        raise QuotaExceeded(Resource.EXECUTIONS.value, limit, tenant.plan)


async def ensure_quota(session: AsyncSession, resource: Resource, *, adding: int = 1) -> None:
    """Raise QuotaExceeded unless `adding` more of `resource` fit the session's tenant's plan."""
    tenant = await lock_tenant(session)
    limit = PLAN_LIMITS[tenant.plan].limit_of(resource)
    if limit is None:
        return
    if await current_usage(session, resource) + adding > limit:
        raise QuotaExceeded(resource.value, limit, tenant.plan)
