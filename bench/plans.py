"""What each mode of bench/run.sh loads and runs: volumes, rounds, durations, concurrencies."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Volumes:
    tenants: int
    members: int  # per tenant
    workflows: int  # per tenant
    executions: int  # per workflow
    deployments: int  # per tenant
    audit: int  # per tenant


@dataclass(frozen=True)
class Plan:
    name: str
    volumes: Volumes
    rounds: int
    duration_s: int  # of each wrk or pgbench run at c=1, and the least of any run
    # A run at c > 1 is stretched to several times a request's expected latency there, up to this:
    # wrk counts only requests that complete, so a run shorter than the latency leaves them out.
    max_duration_s: int
    concurrencies: tuple[int, ...]
    # Connections of the write mix that runs underneath the dashboard in the mixed load.
    background_writers: int
    live_tenants: int
    live_subscribers: int
    live_executions: int
    idle_subscriptions: int
    # After tenantflow's write loads, how long to wait for its executor to run what they queued.
    drain_s: float = 30.0
    warm_up: bool = True  # one unrecorded second per system and load before the rounds
    profile_s: int = 0  # py-spy on each tenantflow server under the dashboard, after the rounds


PER_TENANT = {"members": 20, "workflows": 500, "executions": 20, "deployments": 1000, "audit": 2000}

PLANS = {
    "full": Plan(
        name="full",
        volumes=Volumes(tenants=100, **PER_TENANT),
        rounds=3,
        duration_s=10,
        max_duration_s=60,
        concurrencies=(1, 16, 64),
        background_writers=8,
        live_tenants=20,
        live_subscribers=200,
        live_executions=500,
        idle_subscriptions=2000,
        profile_s=20,
    ),
    # 10 tenants with the full run's per-tenant volumes but half the executions per workflow;
    # one short round at c = 1 and 16 (64 needs runs longer than three minutes allow).
    "quick": Plan(
        name="quick",
        volumes=Volumes(tenants=10, **{**PER_TENANT, "executions": 10}),
        rounds=1,
        duration_s=2,
        max_duration_s=5,
        concurrencies=(1, 16),
        background_writers=8,
        live_tenants=10,
        live_subscribers=200,
        live_executions=100,
        idle_subscriptions=100,
        drain_s=5.0,
        warm_up=False,
        profile_s=5,
    ),
    # Only the live-status loads, at the full run's scale (20 tenants, 200 subscribers, 500 runs,
    # 2,000 idle subscriptions), over a small data set: no rounds (bench/run.sh --live).
    "live": Plan(
        name="live",
        volumes=Volumes(
            tenants=20, members=20, workflows=100, executions=5, deployments=10, audit=10
        ),
        rounds=0,
        duration_s=10,
        max_duration_s=10,
        concurrencies=(16,),
        background_writers=8,
        live_tenants=20,
        live_subscribers=200,
        live_executions=500,
        idle_subscriptions=2000,
        drain_s=0.0,
        warm_up=False,
    ),
    # Proves that every part runs; its figures mean nothing.
    "smoke": Plan(
        name="smoke",
        volumes=Volumes(tenants=2, members=3, workflows=60, executions=3, deployments=10, audit=10),
        rounds=1,
        duration_s=1,
        max_duration_s=1,
        concurrencies=(4,),
        background_writers=2,
        live_tenants=2,
        live_subscribers=10,
        live_executions=10,
        idle_subscriptions=20,
        drain_s=0.0,
        warm_up=False,
        profile_s=2,
    ),
}
