"""The soak run: sign the tenants up, run every tenant's loop and subscription for the set time,
then verify each acknowledged write is there and each event was its tenant's."""

from __future__ import annotations

import asyncio
import random
import secrets
import time
from collections.abc import Callable
from typing import Any

from asgi_lifespan import LifespanManager

from bench.soak.ledger import Ledger
from bench.soak.report import lines
from bench.soak.tenant import SoakTenant, Worker
from tenantflow.isolation.probe.client import Api
from tenantflow.settings import Settings

SIGN_UP = """
mutation($input: SignUpInput!) { signUp(input: $input) {
  __typename ... on AuthPayload { accessToken } ... on Error { message } } }
"""
WORKFLOWS = """
query($after: String) { workflows(first: 100, after: $after) {
  edges { node { id name } } pageInfo { hasNextPage endCursor } } }
"""
EXECUTIONS = """
query($after: String) { executions(first: 100, after: $after) {
  edges { node { id workflow { name } } } pageInfo { hasNextPage endCursor } } }
"""


async def sign_up(api: Api, index: int) -> SoakTenant:
    marker = f"soak{secrets.token_hex(6)}"
    variables = {
        "input": {
            "email": f"{marker}@example.test",
            "password": secrets.token_urlsafe(18),
            "tenantName": f"Soak {marker}",
            "tenantSlug": marker,
            "plan": "PRO",  # a trial with room for the workflows and runs of a soak
        }
    }
    status, body = await api.post(SIGN_UP, variables)
    answer = (body.get("data") or {}).get("signUp") or {}
    if answer.get("__typename") != "AuthPayload":
        raise RuntimeError(f"signing up soak tenant {index}: {status} {body}")
    return SoakTenant(index, marker, answer["accessToken"])


async def listing(api: Api, tenant: SoakTenant, query: str, ledger: Ledger) -> list[dict[str, Any]]:
    nodes: list[dict[str, Any]] = []
    after: str | None = None
    while True:
        status, body = await api.post(query, {"after": after}, token=tenant.token)
        if status != 200 or "errors" in body:
            raise RuntimeError(f"verifying tenant {tenant.index}: {status} {body}")
        ledger.check(tenant.index, tenant.marker, body, "verify")
        page = next(iter(body["data"].values()))
        nodes += [edge["node"] for edge in page["edges"]]
        if not page["pageInfo"]["hasNextPage"]:
            return nodes
        after = page["pageInfo"]["endCursor"]


async def verify(api: Api, tenant: SoakTenant, ledger: Ledger) -> None:
    """Every acknowledged write is there, as last acknowledged; every event was the tenant's."""
    acknowledged = ledger.acknowledged[tenant.index]
    names = {node["id"]: node["name"] for node in await listing(api, tenant, WORKFLOWS, ledger)}
    for workflow_id, name in acknowledged.workflows.items():
        if workflow_id not in names:
            ledger.lost.append(f"tenant {tenant.index}: workflow {workflow_id}")
        elif names[workflow_id] != name:
            ledger.lost.append(
                f"tenant {tenant.index}: {workflow_id} is {names[workflow_id]!r}, not {name!r}"
            )
    executions = {node["id"] for node in await listing(api, tenant, EXECUTIONS, ledger)}
    ledger.lost += [
        f"tenant {tenant.index}: execution {execution_id}"
        for execution_id in sorted(acknowledged.executions - executions)
    ]
    ledger.violations += [
        f"tenant {tenant.index}: an event of execution {execution_id}, not its own"
        for execution_id in sorted(set(tenant.events) - executions)
    ]


async def drive(api: Api, *, tenants: int, seconds: float, think_ms: float, seed: int) -> Ledger:
    ledger = Ledger()
    gate = asyncio.Semaphore(8)  # sign-ups hash passwords: a few at a time

    async def one(index: int) -> SoakTenant:
        async with gate:
            return await sign_up(api, index)

    members = await asyncio.gather(*(one(index) for index in range(tenants)))
    workers = [
        Worker(api, ledger, tenant, random.Random(seed + tenant.index)) for tenant in members
    ]
    stop = asyncio.Event()
    readies = [asyncio.Event() for _ in workers]
    listeners = [
        asyncio.create_task(worker.listen(ready, stop))
        for worker, ready in zip(workers, readies, strict=True)
    ]
    await asyncio.wait_for(asyncio.gather(*(ready.wait() for ready in readies)), 60)
    started = time.monotonic()
    deadline = started + seconds
    await asyncio.gather(*(worker.loop(deadline, think_ms) for worker in workers))
    await asyncio.sleep(2)  # the last runs' events are on their way
    stop.set()
    await asyncio.gather(*listeners)
    for tenant in members:
        await verify(api, tenant, ledger)
    return ledger


async def soak(
    settings: Settings | None,
    *,
    tenants: int = 100,
    seconds: float = 60.0,
    url: str | None = None,
    think_ms: float = 100.0,
    seed: int = 0,
    report: Callable[[str], object] = print,
) -> Ledger:
    """Soak a running server at `url`, or the application on `settings` served in-process."""
    if url is not None:
        api = Api(url=url)
        try:
            ledger = await drive(
                api, tenants=tenants, seconds=seconds, think_ms=think_ms, seed=seed
            )
        finally:
            await api.aclose()
        target = url
    else:
        from tenantflow.app import build_app

        assert settings is not None
        # Budgets measure something else; every tenant's socket comes from one address here.
        served = settings.model_copy(
            update={"rate_limits": "off", "ws_max_connections_per_address": tenants + 10}
        )
        async with LifespanManager(build_app(served)) as manager:
            api = Api(manager.app)
            try:
                ledger = await drive(
                    api, tenants=tenants, seconds=seconds, think_ms=think_ms, seed=seed
                )
            finally:
                await api.aclose()
        target = f"the application in-process on {settings.database_url.split('@')[-1]}"
    for line in lines(ledger, tenants=tenants, seconds=seconds, target=target):
        report(line)
    return ledger
