"""Trials: STARTER and PRO chosen by a customer start as a 14-day TRIAL.

An unactivated trial that has ended behaves as SUSPENDED at once (`effective_status`), and the
change is persisted lazily, the first time credentials of the tenant are resolved after the end
(`end_trial_if_due`): no scheduler is needed, and a tenant nobody uses stays TRIAL in the table
without effect. The operator's `tenantflow tenant activate` makes it ACTIVE.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import update
from sqlmodel import col

from tenantflow.db.models import Tenant
from tenantflow.db.rows import updated_rows
from tenantflow.db.session import TenantDb
from tenantflow.db.types import utcnow
from tenantflow.enums import Plan, TenantStatus
from tenantflow.services.operations import audit

TRIAL_LENGTH = timedelta(days=14)
TRIAL_PLANS = frozenset({Plan.STARTER, Plan.PRO})


def initial_status(plan: Plan, now: datetime) -> tuple[TenantStatus, datetime | None]:
    """The status and trial end of a tenant a customer creates with `plan`."""
    if plan in TRIAL_PLANS:
        return TenantStatus.TRIAL, now + TRIAL_LENGTH
    return TenantStatus.ACTIVE, None


def effective_status(
    status: TenantStatus, trial_ends_at: datetime | None, now: datetime | None = None
) -> TenantStatus:
    ended = trial_ends_at is not None and trial_ends_at <= (now or utcnow())
    return TenantStatus.SUSPENDED if status is TenantStatus.TRIAL and ended else status


async def end_trial_if_due(db: TenantDb) -> None:
    """Persist the suspension of an ended trial; one caller writes it, with its audit row."""
    now = utcnow()
    async with db.transaction() as session:
        flipped = await updated_rows(
            session,
            update(Tenant)
            .where(
                col(Tenant.id) == db.tenant_id,
                col(Tenant.status) == TenantStatus.TRIAL,
                col(Tenant.trial_ends_at) <= now,
            )
            .values(status=TenantStatus.SUSPENDED, updated_at=now),
        )
        if flipped:
            audit.record(
                session,
                actor=None,
                action="tenant.update",
                resource_type="Tenant",
                resource_id=db.tenant_id,
                details={
                    "status": {"before": TenantStatus.TRIAL, "after": TenantStatus.SUSPENDED},
                    "reason": "trial ended",
                },
            )
