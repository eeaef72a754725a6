"""The busiest-tenants label set under concurrent requests (the soak of 100 tenants found this)."""

from __future__ import annotations

import asyncio
import uuid

from tenantflow.observability.metrics import TenantLabels


async def test_concurrent_newcomers_replace_labels_without_losing_track() -> None:
    labels = TenantLabels(capacity=2)
    tenants = [uuid.uuid4() for _ in range(12)]

    async def slow_slug(tenant_id: uuid.UUID) -> str:
        await asyncio.sleep(0)  # the database lookup: others run meanwhile
        return f"slug-{tenant_id.hex[:6]}"

    # given two labelled tenants, when ten busier ones arrive at once
    for tenant in tenants[:2]:
        await labels.count(tenant, slow_slug)
    for _ in range(3):
        await asyncio.gather(*(labels.count(tenant, slow_slug) for tenant in tenants[2:]))
    # then none raised, and at most `capacity` tenants keep a label
    assert sum(labels.label(t) != "other" for t in tenants) <= 2
