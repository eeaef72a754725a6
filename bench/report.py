"""The report: medians over rounds per load, concurrency and system, and tenantflow's ratios."""

from __future__ import annotations

import statistics
from collections.abc import Iterable
from dataclasses import dataclass

from bench.live import LiveResult
from bench.loads import Sample

# tenantflow as deployed (answer cache on, in Redis), the same with TENANTFLOW_CACHE=false (what
# its read path costs when a cache cannot answer), the peer, and one SQL statement per request.
SYSTEMS = ("tenantflow", "tenantflow-uncached", "postgraphile", "ceiling")
# The uncached variant only where the cache would answer: a write is never cached.
UNCACHED_LOADS = ("dashboard", "by_id")
LOAD_TITLES = {
    "dashboard": "dashboard",
    "by_id": "workflow by id + owner",
    "writes": "write mix",
    "mixed": "dashboard under writes",
}


@dataclass(frozen=True)
class Measurement:
    load: str
    concurrency: int
    system: str
    round: int
    seconds: int  # how long the run lasted
    sample: Sample
    background: Sample | None  # the write mix underneath the mixed load
    statements: int  # pg_stat_statements calls in the system's database during the run
    server_cpu_s: float | None  # None for the ceiling: pgbench has no server of its own
    db_cpu_s: float
    cache_hit: float | None

    @property
    def all_requests(self) -> int:
        return self.sample.requests + (self.background.requests if self.background else 0)

    def per_request(self, value: float) -> float:
        return value / self.all_requests if self.all_requests else 0.0


def _median(values: Iterable[float]) -> float:
    return statistics.median(list(values))


def _fmt(value: float | None, digits: int = 1) -> str:
    return "n/a" if value is None else f"{value:,.{digits}f}"


@dataclass(frozen=True)
class Row:
    load: str
    concurrency: int
    system: str
    rps: float
    p50: float
    p95: float
    p99: float
    errors: int
    requests: int
    statements: float
    server_cpu_ms: float | None
    db_cpu_ms: float
    cache_hit: float | None
    background_rps: float | None
    seconds: float

    @classmethod
    def of(cls, runs: list[Measurement]) -> Row:
        first = runs[0]
        cpu = [m.per_request(m.server_cpu_s) * 1000 for m in runs if m.server_cpu_s is not None]
        hits = [m.cache_hit for m in runs if m.cache_hit is not None]
        background = [m.background.rps for m in runs if m.background is not None]
        return cls(
            load=first.load,
            concurrency=first.concurrency,
            system=first.system,
            rps=_median(m.sample.rps for m in runs),
            p50=_median(m.sample.p50_ms for m in runs),
            p95=_median(m.sample.p95_ms for m in runs),
            p99=_median(m.sample.p99_ms for m in runs),
            errors=sum(
                m.sample.errors + (m.background.errors if m.background else 0) for m in runs
            ),
            requests=sum(m.all_requests for m in runs),
            statements=_median(m.per_request(m.statements) for m in runs),
            server_cpu_ms=_median(cpu) if cpu else None,
            db_cpu_ms=_median(m.per_request(m.db_cpu_s) * 1000 for m in runs),
            cache_hit=_median(hits) if hits else None,
            background_rps=_median(background) if background else None,
            seconds=_median(m.seconds for m in runs),
        )


def rows(measurements: list[Measurement]) -> list[Row]:
    groups: dict[tuple[str, int, str], list[Measurement]] = {}
    for m in measurements:
        groups.setdefault((m.load, m.concurrency, m.system), []).append(m)
    return [Row.of(runs) for runs in groups.values()]


def results_table(table: list[Row]) -> str:
    lines = [
        "| load | c | system | req/s | p50 ms | p95 ms | p99 ms | errors / requests |"
        " stmts/req | server CPU ms/req | DB CPU ms/req | cache hit | writes/s below | run s |",
        "|---|---:|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for r in table:
        hit = "n/a" if r.cache_hit is None else f"{r.cache_hit:.0%}"
        lines.append(
            f"| {LOAD_TITLES[r.load]} | {r.concurrency} | {r.system} | {_fmt(r.rps)} |"
            f" {_fmt(r.p50, 2)} | {_fmt(r.p95, 2)} | {_fmt(r.p99, 2)} |"
            f" {r.errors:,} / {r.requests:,} | {_fmt(r.statements, 1)} |"
            f" {_fmt(r.server_cpu_ms, 2)} | {_fmt(r.db_cpu_ms, 2)} | {hit} |"
            f" {_fmt(r.background_rps) if r.background_rps is not None else '-'} |"
            f" {r.seconds:.0f} |"
        )
    return "\n".join(lines)


def ratios_table(table: list[Row]) -> str:
    by_key = {(r.load, r.concurrency, r.system): r for r in table}
    lines = [
        "| load | c | system | req/s | ÷ PostGraphile | ÷ ceiling |",
        "|---|---:|---|---:|---:|---:|",
    ]
    for (load, concurrency, system), row in by_key.items():
        if not system.startswith("tenantflow"):
            continue
        cells = []
        for peer in ("postgraphile", "ceiling"):
            other = by_key.get((load, concurrency, peer))
            cells.append(f"{row.rps / other.rps:.2f}x" if other and other.rps else "n/a")
        lines.append(
            f"| {LOAD_TITLES[load]} | {concurrency} | {system} | {_fmt(row.rps)} |"
            f" {cells[0]} | {cells[1]} |"
        )
    return "\n".join(lines)


def _percentile(values: list[float], fraction: float) -> float | None:
    if not values:
        return None
    return values[min(len(values) - 1, round(fraction * (len(values) - 1)))]


def live_table(results: list[LiveResult]) -> str:
    """One row per wake-up transport; delivery is from the commit to the client."""
    lines = [
        "| transport | subscribers | executions (failed to submit) | other runs seen |"
        " events expected | received | per subscriber: expected | received |"
        " subscribers short | misrouted | duplicates | errors delivered | closed early |"
        " delivery p50 ms | p95 ms | p99 ms |",
        "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    phases = [
        "| transport | delivered while runs were submitted | p50 ms | p95 ms | p99 ms |"
        " delivered after the last submission | p50 ms | p95 ms | p99 ms |",
        "|---|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    notes = []
    for result in results:
        p50, p95, p99 = (_percentile(result.latencies_ms, f) for f in (0.5, 0.95, 0.99))
        cells = [
            f"{len(values):,} | "
            + " | ".join(_fmt(_percentile(values, f)) for f in (0.5, 0.95, 0.99))
            for values in (result.while_submitting_ms, result.after_submitting_ms)
        ]
        phases.append(f"| {result.transport} | {cells[0]} | {cells[1]} |")
        lines.append(
            f"| {result.transport} | {result.subscribers} |"
            f" {result.executions} ({result.submit_errors}) | {result.other_runs} |"
            f" {result.expected:,} | {result.received:,} |"
            f" {_span(result.expected_each)} | {_span(result.received_each)} |"
            f" {result.short_subscribers} | {result.misrouted} | {result.duplicates} |"
            f" {result.errors} | {result.closed} | {_fmt(p50)} | {_fmt(p95)} | {_fmt(p99)} |"
        )
        if result.client_lag_ms:
            lag50, lag95 = (_percentile(result.client_lag_ms, f) for f in (0.5, 0.95))
            notes.append(
                f"- {result.transport}: the measuring client's own event-loop lag, p50"
                f" {_fmt(lag50)} ms, p95 {_fmt(lag95)} ms (what it adds to an arrival's time)"
            )
        unmeasured = len(result.latencies_ms) - result.from_commit
        if unmeasured:
            notes.append(
                f"- {result.transport}: {unmeasured:,} latencies from the event's `at`"
                " (no commit timestamp)"
            )
        if result.first_error:
            notes.append(f"- {result.transport}: first error delivered: `{result.first_error}`")
    return "\n".join([*lines, "", *phases, *([""] if notes else []), *notes])


def _span(values: tuple[int, int]) -> str:
    low, high = values
    return f"{low:,}" if low == high else f"{low:,} to {high:,}"


def idle_table(
    *,
    count: int,
    connections: int,
    seconds: int,
    without: list[Sample],  # before the first opening, and after each closing
    with_idle: list[Sample],  # one per opening of the subscriptions
    failed: int,
    reasons: dict[str, int],
    errors: int,
    first_error: str | None,
) -> str:
    baseline = statistics.median(sample.rps for sample in without)
    ratio = (
        f"{statistics.median(sample.rps for sample in with_idle) / baseline:.2f}x"
        if baseline
        else "n/a"
    )
    runs = [("0", without[0])]
    for sample, after in zip(with_idle, without[1:], strict=True):
        runs += [(f"{count:,}", sample), ("0", after)]
    rows = [
        f"| {label} | {_fmt(sample.rps)} | {_fmt(sample.p50_ms, 2)} | {_fmt(sample.p99_ms, 2)} |"
        f" {sample.errors} |"
        for label, sample in runs
    ]
    return "\n".join(
        [
            f"| idle subscriptions (runs in order) | dashboard req/s (c={connections},"
            f" {seconds} s runs) | p50 ms | p99 ms | errors |",
            "|---|---:|---:|---:|---:|",
            *rows,
            "",
            f"{failed} subscriptions failed or were closed, {errors} errors delivered. With the"
            f" idle subscriptions open, the dashboard's median rate was {ratio} of its median"
            " without.",
            *([f"First error delivered: `{first_error}`"] if first_error else []),
            *(f"- {count} subscriptions: `{reason}`" for reason, count in reasons.items()),
        ]
    )
