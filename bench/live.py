"""Live status over graphql-transport-ws: delivery of execution events, and idle subscriptions.

The live load subscribes to `executionEvents` on one server process and submits runs to the
other, so that every event crosses processes; it counts what each subscriber should have seen
(the tenant's rows in execution_events) against what it received, events of another tenant
(misrouted), and the time from the commit of the event's transaction (PostgreSQL's commit
timestamp of the row) to its arrival at the client. Where no commit timestamp is known, the
event's `at` (taken in the writing transaction, so a little earlier) stands in.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import httpx
from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed
from websockets.typing import Subprotocol

from bench import ids
from bench.bodies import TF_RUN
from bench.tokens import Member
from tenantflow.events.record import decode_event_cursor
from tenantflow.schema.ids import parse_global_id

SUBSCRIPTION = "subscription { executionEvents { status at cursor execution { id } } }"
OPEN_AT_ONCE = 50  # websocket handshakes in flight while subscriptions open
SUBMIT_AT_ONCE = 8
OPEN_WITHIN_S = 180.0


@dataclass
class Subscriber:
    tenant: int
    url: str
    authorization: str
    received: list[tuple[str, str, float]] = field(default_factory=list)  # (execution, at, latency)
    arrivals: list[tuple[int, float]] = field(default_factory=list)  # (position, arrival time)
    cursors: set[str] = field(default_factory=set)
    duplicates: int = 0
    errors: int = 0  # `next` messages that carried GraphQL errors instead of an event
    first_error: str | None = None
    closed: str | None = None
    ready: asyncio.Event = field(default_factory=asyncio.Event)

    async def run(self) -> None:
        try:
            async with connect(
                self.url,
                subprotocols=[Subprotocol("graphql-transport-ws")],
                open_timeout=60,
                close_timeout=1,
                max_size=None,
            ) as socket:
                await self._subscribe(socket)
                async for raw in socket:
                    await self._handle(json.loads(raw), socket)
        except (ConnectionClosed, OSError, TimeoutError) as error:
            self.closed = f"{type(error).__name__}: {error}"
        finally:
            self.ready.set()

    async def _subscribe(self, socket: ClientConnection) -> None:
        init = {"type": "connection_init", "payload": {"authorization": self.authorization}}
        await socket.send(json.dumps(init))
        while json.loads(await socket.recv()).get("type") != "connection_ack":
            pass
        subscribe = {"id": "1", "type": "subscribe", "payload": {"query": SUBSCRIPTION}}
        await socket.send(json.dumps(subscribe))
        self.ready.set()

    async def _handle(self, message: dict[str, Any], socket: ClientConnection) -> None:
        kind = message.get("type")
        if kind == "ping":
            await socket.send(json.dumps({"type": "pong"}))
        elif kind == "next":
            arrived = time.time()
            payload = message.get("payload") or {}
            event = (payload.get("data") or {}).get("executionEvents")
            if payload.get("errors") or event is None:
                self.errors += 1
                self.first_error = self.first_error or json.dumps(payload.get("errors"))[:300]
                return
            if event["cursor"] in self.cursors:
                self.duplicates += 1
                return
            self.cursors.add(event["cursor"])
            at = datetime.fromisoformat(event["at"]).timestamp()
            self.received.append((event["execution"]["id"], event["at"], arrived - at))
            self.arrivals.append((decode_event_cursor(event["cursor"]) or 0, arrived))
        elif kind in ("error", "complete"):
            self.closed = f"{kind}: {message.get('payload')}"


async def open_subscribers(
    subscribers: list[Subscriber], *, within_s: float = OPEN_WITHIN_S
) -> list[asyncio.Task[None]]:
    """Opens them OPEN_AT_ONCE at a time; returns once every one is subscribed (or failed), or
    once `within_s` has passed: the rest are then never opened (their `closed` says so)."""
    tasks = []
    give_up = time.monotonic() + within_s
    for start in range(0, len(subscribers), OPEN_AT_ONCE):
        batch = subscribers[start : start + OPEN_AT_ONCE]
        if time.monotonic() > give_up:
            for subscriber in subscribers[start:]:
                subscriber.closed = f"not opened: opening took over {within_s:.0f} s"
            break
        tasks += [asyncio.create_task(s.run()) for s in batch]
        await asyncio.gather(*(s.ready.wait() for s in batch))
    return tasks


async def close(tasks: list[asyncio.Task[None]]) -> None:
    for task in tasks:
        task.cancel()
    for task in tasks:
        with contextlib.suppress(asyncio.CancelledError):
            await task


@dataclass(frozen=True)
class IdleResult:
    sample: object  # what `during` returned
    failed: int  # subscriptions that failed, were closed or could not be opened in time
    reasons: dict[str, int]  # why, by the start of each reason
    errors: int  # GraphQL errors delivered on them
    first_error: str | None


@dataclass(frozen=True)
class LiveResult:
    transport: str
    subscribers: int
    executions: int
    submit_errors: int
    expected: int
    received: int
    short_subscribers: int  # subscribers that received fewer events than their tenant wrote
    expected_each: tuple[int, int]  # the least and most events a subscriber should have seen
    received_each: tuple[int, int]  # the least and most events a subscriber received
    misrouted: int  # events of an execution of another tenant than the subscriber's
    other_runs: int  # executions the load did not submit whose events arrived (same tenant)
    duplicates: int
    closed: int
    errors: int  # GraphQL errors delivered on the subscriptions
    first_error: str | None
    latencies_ms: list[float]
    from_commit: int  # latencies measured from the commit (the rest from the event's `at`)
    # The same, split by arrival: while runs were still being submitted (the servers also
    # answering runWorkflow), and after the last submission was answered.
    while_submitting_ms: list[float]
    after_submitting_ms: list[float]
    client_lag_ms: list[float]  # the measuring client's own event-loop lag (LoopLag)


class LoopLag:
    """How late this client's event loop wakes a sleeper: a bound on what the client itself
    adds to the latencies it measures (an arrival is timed when its task runs)."""

    INTERVAL_S = 0.01

    def __init__(self) -> None:
        self.samples_ms: list[float] = []
        self._task: asyncio.Task[None] | None = None

    def start(self) -> None:
        self._task = asyncio.create_task(self._sample())

    async def stop(self) -> list[float]:
        if self._task is not None:
            await close([self._task])
        return sorted(self.samples_ms)

    async def _sample(self) -> None:
        while True:
            asked = time.monotonic()
            await asyncio.sleep(self.INTERVAL_S)
            self.samples_ms.append((time.monotonic() - asked - self.INTERVAL_S) * 1000)


def _execution_uuid(global_id: str) -> str:
    parsed = parse_global_id(global_id)
    return parsed[1] if parsed else global_id


async def _submit(
    client: httpx.AsyncClient, url: str, member: Member, j: int, gate: asyncio.Semaphore
) -> str | None:
    body = {
        "query": TF_RUN,
        "variables": {"in": {"workflowId": ids.workflow_gid(member.tenant, j)}},
    }
    async with gate:
        response = await client.post(
            url, json=body, headers={"authorization": member.authorization}
        )
    try:
        result = response.json()["data"]["runWorkflow"]
        return _execution_uuid(result["execution"]["id"])
    except (KeyError, TypeError, ValueError):
        return None


async def live_load(
    *,
    transport: str,
    members: list[Member],
    servers: tuple[str, str],  # GraphQL URLs of the two processes
    tenants: int,
    subscribers: int,
    executions: int,
    runnable: list[int],
    # Since a time: tenant -> events written; None while runs are still pending.
    expected_events: Callable[[float], dict[int, int] | None],
    # Execution ids -> the index of the tenant they belong to, read from the database.
    tenants_of: Callable[[list[str]], dict[str, int]],
    # Since a time: (tenant, position) -> when the event's transaction committed (epoch s).
    commit_times: Callable[[float], dict[tuple[int, int], float]],
    settle_s: float,
) -> LiveResult:
    by_tenant = {m.tenant: m for m in members if m.tenant <= tenants}
    ws_urls = tuple(url.replace("http://", "ws://") for url in servers)
    # Even tenants listen on the first process and run on the second; odd ones the other way.
    subs = [
        Subscriber(t, ws_urls[t % 2], by_tenant[t].authorization)
        for n in range(subscribers)
        for t in [1 + n % tenants]
    ]
    tasks = await open_subscribers(subs)
    await asyncio.sleep(1.0)  # the server side starts listening after the subscribe message
    lag = LoopLag()
    lag.start()
    started = time.time()
    owners: dict[str, int] = {}
    gate = asyncio.Semaphore(SUBMIT_AT_ONCE)
    async with httpx.AsyncClient(timeout=60) as client:
        plan = [(1 + n % tenants, runnable[n % len(runnable)]) for n in range(executions)]
        results = await asyncio.gather(
            *(_submit(client, servers[1 - t % 2], by_tenant[t], j, gate) for t, j in plan)
        )
    submitted = time.time()
    for (tenant, _), execution in zip(plan, results, strict=True):
        if execution is not None:
            owners[execution] = tenant
    expected = await _wait_for_delivery(subs, expected_events, started, settle_s)
    client_lag_ms = await lag.stop()
    await close(tasks)
    # Runs the load did not submit (left queued by the write loads, say) still belong to a tenant.
    others = {_execution_uuid(e) for s in subs for e, _, _ in s.received} - owners.keys()
    owners.update(await asyncio.to_thread(tenants_of, sorted(others)))
    return _summarise(
        subs,
        transport=transport,
        owners=owners,
        expected=expected,
        committed=await asyncio.to_thread(commit_times, started),
        submitted=submitted,
        executions=executions,
        submit_errors=results.count(None),
        other_runs=len(others),
        client_lag_ms=client_lag_ms,
    )


async def _wait_for_delivery(
    subs: list[Subscriber],
    expected_events: Callable[[float], dict[int, int] | None],
    since: float,
    settle_s: float,
) -> dict[int, int]:
    """Waits for the runs to finish, then for the subscribers to have every event, within
    settle_s of either; returns the events each tenant's subscribers should have seen."""
    give_up = time.monotonic() + 5 * settle_s  # runs that never finish are a finding too
    deadline = time.monotonic() + settle_s
    while True:
        expected = await asyncio.to_thread(expected_events, since)
        now = time.monotonic()
        if expected is None:
            deadline = now + settle_s
        elif all(len(s.received) >= expected.get(s.tenant, 0) for s in subs):
            return expected
        if now > min(deadline, give_up):
            return expected or {}
        await asyncio.sleep(0.5)


def _summarise(
    subs: list[Subscriber],
    *,
    transport: str,
    owners: dict[str, int],
    expected: dict[int, int],
    committed: dict[tuple[int, int], float],
    submitted: float,
    executions: int,
    submit_errors: int,
    other_runs: int,
    client_lag_ms: list[float],
) -> LiveResult:
    misrouted = sum(
        1
        for s in subs
        for execution, _, _ in s.received
        if owners.get(_execution_uuid(execution)) != s.tenant
    )
    latencies: list[float] = []
    by_phase: tuple[list[float], list[float]] = ([], [])
    from_commit = 0
    for s in subs:
        for (position, arrived), (_, _, since_at) in zip(s.arrivals, s.received, strict=True):
            commit = committed.get((s.tenant, position))
            latency = since_at * 1000 if commit is None else (arrived - commit) * 1000
            from_commit += commit is not None
            latencies.append(latency)
            by_phase[arrived > submitted].append(latency)
    expected_each = [expected.get(s.tenant, 0) for s in subs] or [0]
    received_each = [len(s.received) for s in subs] or [0]
    return LiveResult(
        transport=transport,
        subscribers=len(subs),
        executions=executions,
        submit_errors=submit_errors,
        expected=sum(expected.get(s.tenant, 0) for s in subs),
        received=sum(len(s.received) for s in subs),
        short_subscribers=sum(1 for s in subs if len(s.received) < expected.get(s.tenant, 0)),
        expected_each=(min(expected_each), max(expected_each)),
        received_each=(min(received_each), max(received_each)),
        misrouted=misrouted,
        other_runs=other_runs,
        duplicates=sum(s.duplicates for s in subs),
        closed=sum(1 for s in subs if s.closed is not None),
        errors=sum(s.errors for s in subs),
        first_error=next((s.first_error for s in subs if s.first_error), None),
        latencies_ms=sorted(latencies),
        from_commit=from_commit,
        while_submitting_ms=sorted(by_phase[0]),
        after_submitting_ms=sorted(by_phase[1]),
        client_lag_ms=client_lag_ms,
    )


async def with_idle_subscriptions(
    *, members: list[Member], url: str, count: int, during: Callable[[], object]
) -> IdleResult:
    """Runs `during` (in a thread) while `count` idle subscriptions are open; returns its result
    and how many subscriptions failed, were closed or could not be opened in time."""
    ws_url = url.replace("http://", "ws://")
    subs = [Subscriber(m.tenant, ws_url, m.authorization) for m in members]
    subs = [subs[n % len(subs)] for n in range(count)]
    subs = [Subscriber(s.tenant, s.url, s.authorization) for s in subs]
    tasks = await open_subscribers(subs)
    result = await asyncio.to_thread(during)
    await close(tasks)
    reasons = Counter((s.closed or "")[:60] for s in subs if s.closed is not None)
    return IdleResult(
        sample=result,
        failed=sum(reasons.values()),
        reasons=dict(reasons.most_common()),
        errors=sum(s.errors for s in subs),
        first_error=next((s.first_error for s in subs if s.first_error), None),
    )
