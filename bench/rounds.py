"""Runs the loads: every system for every load and concurrency, interleaved in rounds.

Around each run it reads the counters that turn into per-request figures: statements in the
system's own database (pg_stat_statements), CPU of the server's process tree and of PostgreSQL's,
and tenantflow's cache counters when its /metrics has them.
"""

from __future__ import annotations

import logging
import math
import time
from dataclasses import dataclass, field
from pathlib import Path

from bench import procstat, stats
from bench.database import CEILING_DB, POSTGRAPHILE_DB, TENANTFLOW_DB
from bench.loads import Pgbench, Sample, finish_wrk, wrk
from bench.pg import Cluster
from bench.plans import Plan
from bench.report import SYSTEMS, UNCACHED_LOADS, Measurement
from bench.servers import Server

log = logging.getLogger("bench")

LOADS = ("dashboard", "by_id", "writes", "mixed")
DATABASE_OF = {
    "tenantflow": TENANTFLOW_DB,
    "tenantflow-uncached": TENANTFLOW_DB,
    "postgraphile": POSTGRAPHILE_DB,
    "ceiling": CEILING_DB,
}
# The uncached server answers tenantflow's requests: same tokens, same bodies.
REQUESTS_OF = {"tenantflow-uncached": "tenantflow"}
WRITE_SCRIPTS = ("create", "update", "run")
WARMUP_S = 1


@dataclass
class Runner:
    plan: Plan
    cluster: Cluster
    servers: dict[str, Server]  # tenantflow, tenantflow-uncached, postgraphile
    request_files: dict[tuple[str, str], Path]
    pgbench: Pgbench
    ceiling_scripts: dict[str, Path]
    # Requests per second at c=1, by (system, load): sets how long the runs at c > 1 last.
    rates: dict[tuple[str, str], float] = field(default_factory=dict)
    # (runs queued when a drain began, runs left when it ended, seconds it took)
    drains: list[tuple[int, int, float]] = field(default_factory=list)

    def warm_up(self) -> None:
        """One short unrecorded run per server and load: connection pools, plans, caches."""
        for load in LOADS[:3]:
            for system in self.servers:
                if system == "tenantflow-uncached" and load not in UNCACHED_LOADS:
                    continue
                self._run(system, load, 16, WARMUP_S)
        self.drain()

    def rounds(self) -> list[Measurement]:
        measurements = []
        for round_number in range(1, self.plan.rounds + 1):
            for load in LOADS:
                for concurrency in self.plan.concurrencies:
                    for system in SYSTEMS:
                        if system == "tenantflow-uncached" and load not in UNCACHED_LOADS:
                            continue
                        m = self.measure(system, load, concurrency, round_number)
                        log.info(
                            "round %d %s c=%d %s: %.1f req/s, p99 %.1f ms, %d errors",
                            round_number, load, concurrency, system, m.sample.rps,
                            m.sample.p99_ms, m.sample.errors,
                        )  # fmt: skip
                        measurements.append(m)
        return measurements

    def measure(self, system: str, load: str, concurrency: int, round_number: int) -> Measurement:
        server = self.servers.get(system)
        database = DATABASE_OF[system]
        metrics = server.base_url if server and system.startswith("tenantflow") else None
        cache_before = stats.cache_counters(metrics) if metrics else None
        statements_before = stats.statements(self.cluster).get(database, 0)
        server_before = procstat.tree_cpu_seconds(server.pid) if server else None
        db_before = procstat.tree_cpu_seconds(self.cluster.postmaster_pid())

        seconds = self.seconds_for(system, load, concurrency)
        sample, background = self._run(system, load, concurrency, seconds)
        if concurrency == 1:
            self.rates[(system, load)] = max(sample.rps, 1 / self.plan.duration_s)

        db_after = procstat.tree_cpu_seconds(self.cluster.postmaster_pid())
        server_after = procstat.tree_cpu_seconds(server.pid) if server else None
        statements_after = stats.statements(self.cluster).get(database, 0)
        cache_after = stats.cache_counters(metrics) if metrics else None
        if load in ("writes", "mixed") and system.startswith("tenantflow"):
            self.drain()
        return Measurement(
            load=load,
            concurrency=concurrency,
            system=system,
            round=round_number,
            seconds=seconds,
            sample=sample,
            background=background,
            statements=statements_after - statements_before,
            server_cpu_s=(
                server_after - server_before
                if server_after is not None and server_before is not None
                else None
            ),
            db_cpu_s=db_after - db_before,
            cache_hit=stats.hit_rate(cache_before, cache_after),
        )

    def seconds_for(self, system: str, load: str, concurrency: int) -> int:
        """At least the plan's duration; at c > 1 four times the latency that c requests in
        flight would have at the c=1 rate (Little's law), within the plan's maximum."""
        rate = self.rates.get((system, load))
        if concurrency == 1 or rate is None:
            return self.plan.duration_s
        wanted = math.ceil(4 * concurrency / rate)
        return min(self.plan.max_duration_s, max(self.plan.duration_s, wanted))

    def _run(
        self, system: str, load: str, concurrency: int, seconds: int
    ) -> tuple[Sample, Sample | None]:
        if system == "ceiling":
            return self._run_pgbench(load, concurrency, seconds)
        url = self.servers[system].url
        files = REQUESTS_OF.get(system, system)
        if load != "mixed":
            file = self.request_files[(files, load)]
            return finish_wrk(wrk(url, file, connections=concurrency, seconds=seconds)), None
        writes = wrk(
            url,
            self.request_files[(files, "writes")],
            connections=self.plan.background_writers,
            seconds=seconds,
        )
        dashboard = wrk(
            url, self.request_files[(files, "dashboard")], connections=concurrency, seconds=seconds
        )
        return finish_wrk(dashboard), finish_wrk(writes)

    def _run_pgbench(
        self, load: str, concurrency: int, seconds: int
    ) -> tuple[Sample, Sample | None]:
        scripts = self.ceiling_scripts
        writes = [scripts[name] for name in WRITE_SCRIPTS]
        if load == "mixed":
            background = self.pgbench.start(
                writes, connections=self.plan.background_writers, seconds=seconds, tag="writes"
            )
            main = self.pgbench.start(
                [scripts["dashboard"]], connections=concurrency, seconds=seconds, tag="main"
            )
            sample = self.pgbench.finish(main, tag="main", seconds=seconds)
            return sample, self.pgbench.finish(background, tag="writes", seconds=seconds)
        chosen = writes if load == "writes" else [scripts[load]]
        process = self.pgbench.start(chosen, connections=concurrency, seconds=seconds, tag="main")
        return self.pgbench.finish(process, tag="main", seconds=seconds), None

    def drain(self) -> None:
        """Waits (up to the plan's drain_s) for tenantflow's executor to run what a write load
        queued, so that the next measurement pays for as little of it as the plan allows."""
        started = time.monotonic()
        queued = pending = self._pending()
        while pending and time.monotonic() - started < self.plan.drain_s:
            time.sleep(0.5)
            pending = self._pending()
        if queued:
            self.drains.append((queued, pending, time.monotonic() - started))

    def _pending(self) -> int:
        return int(
            self.cluster.psql(
                "SELECT count(*) FROM executions WHERE status IN ('QUEUED', 'RUNNING')",
                database=TENANTFLOW_DB,
            )
        )

    def drain_note(self) -> str:
        if not self.drains:
            return "tenantflow's executor had nothing queued after the write loads"
        queued = sum(d[0] for d in self.drains)
        left = sum(d[1] for d in self.drains)
        seconds = sum(d[2] for d in self.drains)
        return (
            f"after tenantflow's write loads its executor had {queued:,} runs queued or running;"
            f" waiting up to {self.plan.drain_s:.0f} s each time ({seconds:.0f} s in all) left"
            f" {left:,} for the measurements that followed"
            f" (about {(queued - left) / seconds if seconds else 0:.1f} runs/s finished meanwhile)"
        )
