"""The benchmark, once bench/run.sh has started its PostgreSQL cluster and Redis.

Builds and loads the databases, starts tenantflow and PostGraphile, runs the loads in
interleaved rounds and the live-status loads, and writes the report.
"""

from __future__ import annotations

import argparse
import asyncio
import dataclasses
import functools
import logging
import os
import platform
import subprocess
import time
import uuid
from collections import Counter
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import cast

from bench import checks, database, ids, live, profile, report, servers, stats, systems
from bench.bodies import Requests
from bench.ceiling import write_scripts
from bench.loads import Pgbench, Sample, finish_wrk, wrk
from bench.pg import SUPERUSER, Cluster, Login
from bench.plans import PLANS, Plan
from bench.rounds import Runner
from bench.servers import Server
from bench.tokens import Member, mint

log = logging.getLogger("bench")
ROOT = Path(__file__).resolve().parent.parent
SHARED = Path(os.environ.get("TENANTFLOW_SHARED_DIR", ROOT.parent / "shared"))
DASHBOARD = SHARED / "contract" / "dashboard.graphql"
LIVE_SETTLE_S = 60.0
# The dashboard with idle subscriptions open, alternating with runs without: the machine's noise
# between two 10 s runs is larger than the 10 % the comparison is about.
IDLE_CYCLES = 2


def _arguments() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--mode", choices=sorted(PLANS), default="full")
    parser.add_argument("--run-dir", type=Path, required=True)
    parser.add_argument("--pg-bin", type=Path, required=True)
    parser.add_argument("--pg-port", type=int, required=True)
    parser.add_argument("--redis-url", required=True)
    parser.add_argument("--node-dir", type=Path, required=True)
    parser.add_argument("--results-dir", type=Path, required=True)
    parser.add_argument("--rounds", type=int)
    parser.add_argument("--duration", type=int, help="seconds of each load run")
    return parser.parse_args()


def _plan(args: argparse.Namespace) -> Plan:
    plan = PLANS[args.mode]
    if args.rounds:
        plan = dataclasses.replace(plan, rounds=args.rounds)
    if args.duration:
        plan = dataclasses.replace(plan, duration_s=args.duration)
    return plan


class Bench:
    def __init__(self, args: argparse.Namespace) -> None:
        self.args = args
        self.plan = _plan(args)
        self.run_dir: Path = args.run_dir
        self.cluster = Cluster(
            bin_dir=args.pg_bin,
            port=args.pg_port,
            data_dir=self.run_dir / "pg",
            superuser=Login(SUPERUSER, os.environ["PGPASSWORD"]),
        )
        self.roles = database.Roles.generate()
        self.keys = systems.Keys.generate()
        self.env = systems.tenantflow_env(self.cluster, self.roles, self.keys, args.redis_url)
        self.servers: list[Server] = []
        self.notes: list[str] = []
        self.timings: dict[str, float] = {}
        self.top_statements = ""
        self.profile_text = "(not run)"

    def run(self) -> Path:
        started = time.monotonic()
        members = self._build()
        self.timings["build"] = time.monotonic() - started
        try:
            measurements, idle = self._main_loads(members)
            self.timings["loads"] = time.monotonic() - started - self.timings["build"]
            live_text = _or_failure("live-status load", lambda: self._live(members))
        finally:
            self._stop_all()
        self.timings["total"] = time.monotonic() - started
        return self._write_report(measurements, idle, live_text)

    def _build(self) -> list[Member]:
        volumes = self.plan.volumes
        log.info("roles, database and tenantflow migrate")
        database.create_roles(self.cluster, self.roles)
        database.migrate(systems.TENANTFLOW, self.env)
        log.info("loading %s", volumes)
        loaded = time.monotonic()
        database.load(self.cluster, self.roles, volumes)
        counts = database.row_counts(self.cluster)
        self.timings["load"] = time.monotonic() - loaded
        log.info("loaded in %.0f s: %s", self.timings["load"], counts)
        self.notes.append(
            "rows: " + ", ".join(f"{count:,} {table}" for table, count in counts.items())
        )
        database.clone_and_grant(self.cluster, self.roles)
        return mint(self.keys.secret_key, volumes)

    def _main_loads(self, members: list[Member]) -> tuple[list[report.Measurement], str]:
        tenantflow = systems.spawn_tenantflow(
            "tenantflow", self.env, port=systems.free_port(), workers=2, run_dir=self.run_dir
        )
        uncached = systems.spawn_tenantflow(
            "tenantflow-uncached",
            {**self.env, "TENANTFLOW_CACHE": "false"},
            port=systems.free_port(),
            workers=2,
            run_dir=self.run_dir,
        )
        self.servers += [tenantflow, uncached]
        postgraphile = systems.spawn_postgraphile(
            self.cluster,
            self.roles,
            self.keys,
            node_dir=self.args.node_dir,
            port=systems.free_port(),
            run_dir=self.run_dir,
        )
        self.servers.append(postgraphile)
        servers.wait_ready(tenantflow)
        servers.wait_ready(uncached)
        servers.wait_ready(postgraphile)
        files = Requests(members, self.plan.volumes, DASHBOARD.read_text()).write(
            self.run_dir / "requests"
        )
        self._check(tenantflow, uncached, postgraphile, files)
        runner = Runner(
            plan=self.plan,
            cluster=self.cluster,
            servers={
                "tenantflow": tenantflow,
                "tenantflow-uncached": uncached,
                "postgraphile": postgraphile,
            },
            request_files=files,
            pgbench=Pgbench(
                cluster=self.cluster,
                login=self.roles.ceiling,
                database=database.CEILING_DB,
                variables={
                    "tenants": self.plan.volumes.tenants,
                    "workflows": self.plan.volumes.workflows,
                },
                log_dir=self.run_dir,
            ),
            ceiling_scripts=write_scripts(self.run_dir / "ceiling"),
        )
        if self.plan.warm_up:
            log.info("warm-up")
            runner.warm_up()
        log.info("%d rounds of %d s runs", self.plan.rounds, self.plan.duration_s)
        measurements = runner.rounds()
        self.notes.append(runner.drain_note())
        self.profile_text = _or_failure(
            "profile",
            lambda: self._profile(
                {"tenantflow": tenantflow, "tenantflow-uncached": uncached},
                files[("tenantflow", "dashboard")],
            ),
        )
        # Kept at once: the loads after this one must not be able to lose the rounds' figures.
        self._write_report(measurements, "(not run yet)", "(not run yet)", partial=True)
        idle = _or_failure(
            "idle-subscription load",
            lambda: self._idle_subscriptions(
                members, tenantflow, files[("tenantflow", "dashboard")], runner
            ),
        )
        self.top_statements = stats.top_statements(self.cluster, database.TENANTFLOW_DB)
        _stop(postgraphile, tenantflow, uncached)
        return measurements, idle

    def _check(
        self,
        tenantflow: Server,
        uncached: Server,
        postgraphile: Server,
        files: dict[tuple[str, str], Path],
    ) -> None:
        for load in ("by_id", "writes"):
            for server in (tenantflow, postgraphile):
                checks.answer(server.url, files[(server.name, load)])
        ours = checks.answer(tenantflow.url, files[("tenantflow", "dashboard")])
        # With and without the cache, one member's dashboard is the same answer.
        plain = checks.answer(uncached.url, files[("tenantflow", "dashboard")])
        if plain["data"] != ours["data"]:
            raise checks.CheckError("tenantflow answers the dashboard otherwise without its cache")
        theirs = checks.answer(postgraphile.url, files[("postgraphile", "dashboard")])
        message = checks.same_dashboard(ours, theirs)
        log.info(message)
        self.notes.append(message)

    def _profile(self, profiled: dict[str, Server], dashboard: Path) -> str:
        seconds = self.plan.profile_s
        if not seconds:
            return "(not part of this plan)"
        if not profile.available():
            return "Not run: py-spy is not installed (`.venv/bin/pip install py-spy`)."
        log.info("profiling %s for %d s each", ", ".join(profiled), seconds)

        def load(name: str, run_s: int) -> Callable[[], object]:
            running = wrk(profiled[name].url, dashboard, connections=16, seconds=run_s)
            return lambda: finish_wrk(running)

        profiles = profile.profile_servers(
            {name: server.pid for name, server in profiled.items()},
            seconds=seconds,
            load=load,
            work_dir=self.run_dir,
        )
        return profile.table(profiles, load="the dashboard at c=16", seconds=seconds)

    def _idle_subscriptions(
        self, members: list[Member], server: Server, dashboard: Path, runner: Runner
    ) -> str:
        count = self.plan.idle_subscriptions
        connections = min(16, max(self.plan.concurrencies))
        seconds = runner.seconds_for("tenantflow", "dashboard", connections)

        def dashboard_load() -> Sample:
            return finish_wrk(wrk(server.url, dashboard, connections=connections, seconds=seconds))

        log.info(
            "dashboard without and with %d idle subscriptions, alternately (%d times with)",
            count,
            IDLE_CYCLES,
        )
        if not self.plan.warm_up:
            dashboard_load()  # discarded: the first run after the servers started is cold
        without = [dashboard_load()]
        idle_runs = []
        opened = time.monotonic()
        for _ in range(IDLE_CYCLES):
            idle_runs.append(
                asyncio.run(
                    live.with_idle_subscriptions(
                        members=members, url=server.url, count=count, during=dashboard_load
                    )
                )
            )
            without.append(dashboard_load())
        self.timings["idle subscriptions"] = time.monotonic() - opened
        with_idle = [run.sample for run in idle_runs]
        assert all(isinstance(sample, Sample) for sample in with_idle)
        reasons: Counter[str] = Counter()
        for run in idle_runs:
            reasons.update(run.reasons)
        return report.idle_table(
            count=count,
            connections=connections,
            seconds=seconds,
            without=without,
            with_idle=cast("list[Sample]", with_idle),
            failed=sum(run.failed for run in idle_runs),
            reasons=dict(reasons.most_common()),
            errors=sum(run.errors for run in idle_runs),
            first_error=next((run.first_error for run in idle_runs if run.first_error), None),
        )

    def _live(self, members: list[Member]) -> str:
        """The live load once per wake-up transport: Redis pub/sub (TENANTFLOW_REDIS_URL set),
        then PostgreSQL LISTEN/NOTIFY (the same deployment without Redis)."""
        without_redis = {k: v for k, v in self.env.items() if k != "TENANTFLOW_REDIS_URL"}
        results = [
            self._live_over(transport, env, members)
            for transport, env in (
                ("Redis pub/sub", self.env),
                ("LISTEN/NOTIFY", without_redis),
            )
        ]
        return report.live_table(results)

    def _live_over(
        self, transport: str, env: dict[str, str], members: list[Member]
    ) -> live.LiveResult:
        # One process each, so that it is known which process holds which subscription.
        first, second = (
            systems.spawn_tenantflow(
                f"{name}-{transport.split(maxsplit=1)[0].lower().replace('/', '-')}",
                env,
                port=systems.free_port(),
                workers=1,
                run_dir=self.run_dir,
            )
            for name in ("tenantflow-a", "tenantflow-b")
        )
        self.servers += [first, second]
        servers.wait_ready(first)
        servers.wait_ready(second)
        log.info(
            "live status over %s: %d subscriptions, %d runs over %d tenants",
            transport,
            self.plan.live_subscribers,
            self.plan.live_executions,
            self.plan.live_tenants,
        )
        tenants = min(self.plan.live_tenants, self.plan.volumes.tenants)
        opened = time.monotonic()
        result = asyncio.run(
            live.live_load(
                transport=transport,
                members=members,
                servers=(first.url, second.url),
                tenants=tenants,
                subscribers=self.plan.live_subscribers,
                executions=self.plan.live_executions,
                runnable=[j for j in range(1, self.plan.volumes.workflows + 1) if ids.runnable(j)],
                expected_events=self._events_since,
                tenants_of=self._tenants_of,
                commit_times=self._commit_times,
                settle_s=LIVE_SETTLE_S,
            )
        )
        self.timings[f"live ({transport})"] = time.monotonic() - opened
        _stop(first, second)
        return result

    @functools.cached_property
    def _tenant_index(self) -> dict[str, int]:
        """The index of each loaded tenant, by its id as psql prints it."""
        return {str(ids.tenant_id(i)): i for i in range(1, self.plan.volumes.tenants + 1)}

    def _commit_times(self, since: float) -> dict[tuple[int, int], float]:
        """(tenant index, position) -> commit time (epoch seconds) of each event since a time,
        from PostgreSQL's commit timestamps (track_commit_timestamp, set by bench/run.sh)."""
        rows = self.cluster.psql(
            "SELECT tenant_id, seq, extract(epoch FROM pg_xact_commit_timestamp(xmin))"
            f" FROM execution_events WHERE at >= to_timestamp({since})",
            database=database.TENANTFLOW_DB,
        )
        index = self._tenant_index
        times = {}
        for line in rows.splitlines():
            tenant, seq, committed = line.split("|")
            if committed and tenant in index:
                times[(index[tenant], int(seq))] = float(committed)
        return times

    def _events_since(self, since: float) -> dict[int, int] | None:
        """Events per tenant (by its index) written since a time; None while runs are pending."""
        pending = self.cluster.psql(
            "SELECT count(*) FROM executions WHERE status IN ('QUEUED', 'RUNNING')",
            database=database.TENANTFLOW_DB,
        )
        if int(pending):
            return None
        rows = self.cluster.psql(
            "SELECT e.tenant_id, count(*) FROM execution_events e"
            f" WHERE e.at >= to_timestamp({since}) GROUP BY e.tenant_id",
            database=database.TENANTFLOW_DB,
        )
        index = self._tenant_index
        counts = {}
        for line in rows.splitlines():
            tenant, count = line.split("|")
            counts[index[tenant]] = int(count)
        return counts

    def _tenants_of(self, executions: list[str]) -> dict[str, int]:
        """The tenant (by its index) of each execution id, read as the superuser."""
        valid = [e for e in executions if _is_uuid(e)]
        if not valid:
            return {}
        listed = ",".join(f"'{e}'" for e in valid)
        rows = self.cluster.psql(
            f"SELECT id, tenant_id FROM executions WHERE id IN ({listed})",
            database=database.TENANTFLOW_DB,
        )
        index = self._tenant_index
        return {
            execution: index[tenant]
            for execution, tenant in (line.split("|") for line in rows.splitlines())
        }

    def _stop_all(self) -> None:
        _stop(*self.servers)

    def _write_report(
        self,
        measurements: list[report.Measurement],
        idle: str,
        live_text: str,
        *,
        partial: bool = False,
    ) -> Path:
        table = report.rows(measurements)
        commit = subprocess.run(
            ["git", "-C", str(ROOT), "rev-parse", "--short", "HEAD"],
            capture_output=True,
            text=True,
            check=False,
        ).stdout.strip()
        now = datetime.now(UTC)
        text = "\n".join(
            [
                f"# tenantflow benchmark ({self.plan.name})",
                "",
                f"- date: {now:%Y-%m-%d %H:%M} UTC; commit {commit or 'unknown'}",
                f"- machine: {platform.node()}, {os.cpu_count()} cores, {platform.platform()}",
                f"- plan: {self.plan.volumes}; {self.plan.rounds} round(s) of"
                f" {self.plan.duration_s} s per run; concurrency {self.plan.concurrencies};"
                f" {self.plan.background_writers} write connections under the mixed load",
                *(f"- {note}" for note in self.notes),
                "- time: "
                + ", ".join(f"{name} {seconds:.0f} s" for name, seconds in self.timings.items()),
                "",
                "## Loads (medians over rounds; errors summed)",
                "",
                report.results_table(table),
                "",
                "## tenantflow's throughput relative to its peers",
                "",
                report.ratios_table(table),
                "",
                "## Where tenantflow's CPU goes",
                "",
                self.profile_text,
                "",
                "## Live status (executionEvents, subscribers on one process, runs on the other)",
                "",
                live_text,
                "",
                "## Idle subscriptions (tenantflow, --workers 2)",
                "",
                idle,
                "",
                "## tenantflow's most frequent statements (whole run, its database)",
                "",
                self.top_statements,
                "",
            ]
        )
        results: Path = self.args.results_dir
        results.mkdir(parents=True, exist_ok=True)
        if partial:
            (results / f"partial-{self.plan.name}.md").write_text(text)
            return results / f"partial-{self.plan.name}.md"
        print(text)
        path = results / f"{now:%Y%m%dT%H%M%S}-{self.plan.name}.md"
        path.write_text(text)
        (results / f"latest-{self.plan.name}.md").write_text(text)
        log.info("report written to %s", path)
        return path


def _is_uuid(value: str) -> bool:
    try:
        uuid.UUID(value)
    except ValueError:
        return False
    return True


def _or_failure(what: str, load: Callable[[], str]) -> str:
    """The load's section of the report, or what made it fail: the other figures still count."""
    try:
        return load()
    except Exception as error:
        log.exception("the %s failed", what)
        return f"The {what} failed: `{type(error).__name__}: {str(error)[:300]}`"


def _stop(*running: Server) -> None:
    for server in running:
        server.terminate()
    for server in running:
        server.stop()


def main() -> None:
    logging.basicConfig(level=logging.INFO, format="[bench %(asctime)s] %(message)s", datefmt="%X")
    logging.getLogger("httpx").setLevel(logging.WARNING)
    Bench(_arguments()).run()


if __name__ == "__main__":
    main()
