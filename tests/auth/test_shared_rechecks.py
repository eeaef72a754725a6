"""Open subscriptions' credential re-checks are shared by those holding the same credentials,
never across credentials, and a wake-up's check never takes a verdict from before it."""

from __future__ import annotations

import asyncio
import time
import uuid

import pytest

from tenantflow.auth.principal import Principal
from tenantflow.enums import Plan, Role, TenantStatus
from tenantflow.services.identity.rechecks import SharedRechecks


class Resolver:
    """Counts resolutions; each waits for `gate` when one is given."""

    def __init__(self) -> None:
        self.calls: list[str] = []
        self.gate: asyncio.Event | None = None
        self.fail = False

    async def __call__(self, authorization: str) -> Principal | None:
        self.calls.append(authorization)
        if self.gate is not None:
            await self.gate.wait()
        if self.fail:
            raise ConnectionError("database unavailable")
        tenant = uuid.uuid5(uuid.NAMESPACE_URL, authorization)
        return Principal(tenant, Role.EDITOR, TenantStatus.ACTIVE, Plan.PRO)


async def test_periodic_checks_of_one_credential_share_a_recent_verdict() -> None:
    resolve = Resolver()
    rechecks = SharedRechecks(resolve, reuse_seconds=60)
    first = await rechecks.principal("Bearer a", since=None)
    again = await rechecks.principal("Bearer a", since=None)
    assert first == again
    assert resolve.calls == ["Bearer a"]


async def test_a_verdict_older_than_the_reuse_window_is_checked_again() -> None:
    resolve = Resolver()
    rechecks = SharedRechecks(resolve, reuse_seconds=0.05)
    await rechecks.principal("Bearer a", since=None)
    await asyncio.sleep(0.1)
    await rechecks.principal("Bearer a", since=None)
    assert resolve.calls == ["Bearer a", "Bearer a"]


async def test_concurrent_checks_join_the_one_in_flight() -> None:
    resolve = Resolver()
    resolve.gate = asyncio.Event()
    rechecks = SharedRechecks(resolve, reuse_seconds=60)
    waiting = [asyncio.create_task(rechecks.principal("Bearer a", since=None)) for _ in range(10)]
    await asyncio.sleep(0.05)
    resolve.gate.set()
    verdicts = await asyncio.gather(*waiting)
    assert len(set(verdicts)) == 1
    assert resolve.calls == ["Bearer a"]


async def test_a_wake_ups_check_never_takes_a_verdict_from_before_it() -> None:
    resolve = Resolver()
    rechecks = SharedRechecks(resolve, reuse_seconds=60)
    await rechecks.principal("Bearer a", since=None)
    # a revocation wake-up comes now: the verdict above may predate it
    woken = time.monotonic()
    await asyncio.gather(*(rechecks.principal("Bearer a", since=woken) for _ in range(5)))
    # one new check, shared by the five subscriptions the wake-up reached
    assert resolve.calls == ["Bearer a", "Bearer a"]


async def test_different_credentials_never_share_a_verdict() -> None:
    resolve = Resolver()
    rechecks = SharedRechecks(resolve, reuse_seconds=60)
    a = await rechecks.principal("Bearer a", since=None)
    b = await rechecks.principal("Bearer b", since=None)
    assert a is not None
    assert b is not None
    assert a.tenant_id != b.tenant_id
    assert resolve.calls == ["Bearer a", "Bearer b"]


async def test_a_failed_check_is_not_kept() -> None:
    resolve = Resolver()
    resolve.fail = True
    rechecks = SharedRechecks(resolve, reuse_seconds=60)
    with pytest.raises(ConnectionError):
        await rechecks.principal("Bearer a", since=None)
    resolve.fail = False
    assert await rechecks.principal("Bearer a", since=None) is not None
    assert resolve.calls == ["Bearer a", "Bearer a"]
