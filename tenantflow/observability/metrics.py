"""Every Prometheus metric of the server, in one place (served at GET /metrics).

Names follow Prometheus conventions: `tenantflow_` prefix, `_total` for counters, base units
(seconds). Labels are bounded: `tenant` is the slug of one of the busiest tenants of this process
(`TenantLabels`) or `other`, `operation` one of the first operation names this process saw
(`OperationLabels`) or `other`/`anonymous`. Other modules import the metric objects from here and
increment them; nothing else defines a metric.

Under `tenantflow serve --workers N` every worker writes its samples to the directory named by
PROMETHEUS_MULTIPROC_DIR (the serve command makes one), and whichever worker answers /metrics
reports the sum over all of them (prometheus-client's multiprocess mode); the pool gauges are
read live and describe the answering worker only.
"""

from __future__ import annotations

import os
import threading
import uuid
import weakref
from collections.abc import Awaitable, Callable, Iterable
from typing import Final

from prometheus_client import REGISTRY, CollectorRegistry, Counter, Gauge, Histogram, multiprocess
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.exposition import generate_latest
from prometheus_client.registry import Collector
from sqlalchemy.pool import Pool

OTHER: Final = "other"
ANONYMOUS_OPERATION: Final = "anonymous"
NO_TENANT: Final = "none"

# -- requests ------------------------------------------------------------------------------------

REQUESTS = Counter(
    "tenantflow_requests_total",
    "GraphQL operations answered (HTTP requests and websocket operations)",
    ["operation", "tenant", "transport"],
)
REQUEST_DURATION = Histogram(
    "tenantflow_request_duration_seconds",
    "Time from receiving a GraphQL HTTP request to its last byte",
    ["operation", "tenant"],
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0),
)
ERRORS = Counter(
    "tenantflow_request_errors_total",
    "GraphQL errors in answers, by extensions.code",
    ["operation", "tenant", "code"],
)

# -- protection ----------------------------------------------------------------------------------

RATE_LIMIT_REFUSALS = Counter(
    "tenantflow_rate_limit_refusals_total",
    "Operations refused with RATE_LIMITED, by budget (requests, cost, anonymous, login, websocket)",
    ["budget"],
)
QUERY_LIMIT_REFUSALS = Counter(
    "tenantflow_query_limit_refusals_total",
    "Operations refused with QUERY_TOO_COMPLEX, by limit (tokens, depth, aliases, directives,"
    " cost)",
    ["limit"],
)
RATE_LIMIT_STORAGE_DEGRADED = Gauge(
    "tenantflow_rate_limit_storage_degraded",
    "1 while Redis fails and budgets are kept in this process only",
    multiprocess_mode="livemax",
)
RATE_LIMIT_STORAGE_ERRORS = Counter(
    "tenantflow_rate_limit_storage_errors_total",
    "Budget reads or writes that Redis failed (answered from process memory instead)",
)

# -- websockets ----------------------------------------------------------------------------------

WEBSOCKETS_OPEN = Gauge(
    "tenantflow_websockets_open", "Websocket connections open now", multiprocess_mode="livesum"
)
SUBSCRIPTIONS_ACTIVE = Gauge(
    "tenantflow_subscriptions_active", "Subscriptions running now", multiprocess_mode="livesum"
)

# -- executions ----------------------------------------------------------------------------------

EXECUTIONS = Counter(
    "tenantflow_executions_total",
    "Executions this process's executor finished, by final status",
    ["status"],
)

# -- the response cache (incremented by the cache; defined here so every metric is in one place) --

# cache: `answers` (query answers) or `principals` (credentials checked without the database).
CACHE_HITS = Counter("tenantflow_cache_hits_total", "Cache hits", ["cache"])
CACHE_MISSES = Counter("tenantflow_cache_misses_total", "Cache misses", ["cache"])
CACHE_ERRORS = Counter(
    "tenantflow_cache_errors_total", "Cache store operations that failed (then a miss)", ["store"]
)


# -- the database pool: read at scrape time ------------------------------------------------------


class PoolCollector(Collector):
    """`tenantflow_db_pool_in_use` and `tenantflow_db_pool_waiting` of every registered pool."""

    def __init__(self) -> None:
        self._pools: weakref.WeakSet[Pool] = weakref.WeakSet()

    def watch(self, pool: Pool) -> None:
        self._pools.add(pool)

    def collect(self) -> Iterable[GaugeMetricFamily]:
        in_use = GaugeMetricFamily(
            "tenantflow_db_pool_in_use", "Database connections checked out of the pool now"
        )
        waiting = GaugeMetricFamily(
            "tenantflow_db_pool_waiting", "Requests waiting for a pooled database connection now"
        )
        pools = list(self._pools)
        in_use.add_metric([], sum(_checked_out(pool) for pool in pools))
        waiting.add_metric([], sum(_waiting(pool) for pool in pools))
        yield in_use
        yield waiting


def _checked_out(pool: Pool) -> int:
    checkedout = getattr(pool, "checkedout", None)
    return int(checkedout()) if callable(checkedout) else 0


def _waiting(pool: Pool) -> int:
    # SQLAlchemy counts no waiters publicly; its async queue pool waits on an asyncio.Queue,
    # whose pending getters are the waiters. 0 for pools of another shape (SQLite's).
    queue = getattr(getattr(pool, "_pool", None), "_queue", None)
    getters = getattr(queue, "_getters", None)
    return len(getters) if getters is not None else 0


POOLS = PoolCollector()
REGISTRY.register(POOLS)


# -- exposition ----------------------------------------------------------------------------------

MULTIPROCESS_DIR_VARIABLE: Final = "PROMETHEUS_MULTIPROC_DIR"


def is_multiprocess() -> bool:
    return bool(os.environ.get(MULTIPROCESS_DIR_VARIABLE))


def exposition() -> bytes:
    """The text served at /metrics: this process's metrics, or every worker's summed."""
    if not is_multiprocess():
        return generate_latest(REGISTRY)
    registry = CollectorRegistry()
    multiprocess.MultiProcessCollector(registry)  # type: ignore[no-untyped-call]
    registry.register(POOLS)
    return generate_latest(registry)


def process_exited() -> None:
    """A worker's live gauges (open websockets, subscriptions) stop counting once it exits."""
    if is_multiprocess():
        multiprocess.mark_process_dead(os.getpid())  # type: ignore[no-untyped-call]


# -- bounded labels ------------------------------------------------------------------------------


class OperationLabels:
    """The first `capacity` operation names keep their own label; later ones are `other`."""

    def __init__(self, capacity: int = 200, max_length: int = 64) -> None:
        self.capacity = capacity
        self.max_length = max_length
        self._known: set[str] = set()
        self._lock = threading.Lock()

    def label(self, name: str | None) -> str:
        if not name:
            return ANONYMOUS_OPERATION
        if name in self._known:
            return name
        with self._lock:
            if len(name) <= self.max_length and len(self._known) < self.capacity:
                self._known.add(name)
                return name
        return OTHER


SlugLookup = Callable[[uuid.UUID], Awaitable[str | None]]
# Metrics labelled by tenant: a tenant that leaves the busiest set has its series removed.
_TENANT_LABELLED = (REQUESTS, REQUEST_DURATION, ERRORS)


class TenantLabels:
    """The busiest `capacity` tenants of this process are labelled by slug, the rest `other`.

    Busy is a decaying request count (halved whenever `window` requests were counted), so a
    tenant that was busy an hour ago gives its label up to one busy now. Its series are removed
    then, which keeps the number of tenant series at `capacity` whatever the number of tenants.
    Under several workers a removed series would live on in the shared sample files, so labels
    are never given up there: the first `capacity` busy tenants keep theirs, later ones are `other`.
    """

    def __init__(
        self, capacity: int = 20, window: int = 10_000, *, relabel: bool | None = None
    ) -> None:
        self.capacity = capacity
        self.window = window
        self.relabel = not is_multiprocess() if relabel is None else relabel
        self._counts: dict[uuid.UUID, float] = {}
        self._counted = 0
        self._slugs: dict[uuid.UUID, str] = {}

    def label(self, tenant_id: uuid.UUID | None) -> str:
        if tenant_id is None:
            return NO_TENANT
        return self._slugs.get(tenant_id, OTHER)

    async def count(self, tenant_id: uuid.UUID, slug_of: SlugLookup) -> None:
        """Count a request of the tenant; give it a label when it is now among the busiest."""
        self._counts[tenant_id] = self._counts.get(tenant_id, 0.0) + 1
        self._counted += 1
        if self._counted >= self.window:
            self._decay()
        if tenant_id in self._slugs or self.capacity <= 0:
            return
        labelled = sorted(self._slugs, key=lambda known: self._counts.get(known, 0.0))
        if len(labelled) >= self.capacity:
            if not self.relabel:
                return
            quietest = labelled[0]
            if self._counts.get(quietest, 0.0) >= self._counts[tenant_id]:
                return
        slug = await slug_of(tenant_id)
        if slug is None or tenant_id in self._slugs:
            return
        if len(self._slugs) >= self.capacity:
            if not self.relabel:  # filled by other requests during the await
                return
            # Chosen again after the await: another request may have replaced `labelled[0]`
            # meanwhile (that was a KeyError under a soak of 100 tenants).
            self._forget(min(self._slugs, key=lambda known: self._counts.get(known, 0.0)))
        self._slugs[tenant_id] = slug

    def _decay(self) -> None:
        self._counted = 0
        self._counts = {
            tenant: count / 2
            for tenant, count in self._counts.items()
            if count >= 1 or tenant in self._slugs
        }

    def _forget(self, tenant_id: uuid.UUID) -> None:
        slug = self._slugs.pop(tenant_id)
        for metric in _TENANT_LABELLED:
            metric.remove_by_labels({"tenant": slug})
