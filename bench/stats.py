"""Counters read before and after each load: statements per database, and tenantflow's cache."""

from __future__ import annotations

import re

import httpx

from bench.pg import Cluster

# The executor's claim poll is a background loop (every worker, twice a second), not work done
# for a request: it is left out of statements per request.
STATEMENTS_SQL = """
SELECT d.datname, sum(s.calls)::bigint
FROM pg_stat_statements s JOIN pg_database d ON d.oid = s.dbid
WHERE s.query NOT LIKE '%tf_claim_execution%'
GROUP BY d.datname
"""
# Only the answer cache: the principal cache is consulted on every request, hit or not, and
# would blur how often a query was answered without running it.
_CACHE_LINE = re.compile(
    r'^tenantflow_cache_(hits|misses)_total\{[^}]*cache="answers"[^}]*\}\s+([0-9.eE+-]+)$'
)


def statements(cluster: Cluster) -> dict[str, int]:
    rows = cluster.psql(STATEMENTS_SQL)
    counts = {}
    for line in rows.splitlines():
        name, calls = line.split("|")
        counts[name] = int(calls)
    return counts


def cache_counters(base_url: str) -> tuple[float, float] | None:
    """(hits, misses) of the answer cache from tenantflow's /metrics; None without them."""
    try:
        response = httpx.get(f"{base_url}/metrics", timeout=5)
    except httpx.HTTPError:
        return None
    if response.status_code != 200:
        return None
    totals = {"hits": 0.0, "misses": 0.0}
    found = False
    for line in response.text.splitlines():
        match = _CACHE_LINE.match(line.strip())
        if match:
            totals[match.group(1)] += float(match.group(2))
            found = True
    return (totals["hits"], totals["misses"]) if found else None


def hit_rate(before: tuple[float, float] | None, after: tuple[float, float] | None) -> float | None:
    if before is None or after is None:
        return None
    hits, misses = after[0] - before[0], after[1] - before[1]
    return hits / (hits + misses) if hits + misses > 0 else None


def top_statements(cluster: Cluster, database: str, limit: int = 12) -> str:
    """The database's most frequent statements over the whole run, as a Markdown table."""
    rows = cluster.psql(
        "SELECT s.calls, round(s.total_exec_time::numeric / s.calls, 3),"
        " left(regexp_replace(s.query, '\\s+', ' ', 'g'), 110)"
        " FROM pg_stat_statements s JOIN pg_database d ON d.oid = s.dbid"
        f" WHERE d.datname = '{database}' ORDER BY s.calls DESC LIMIT {limit}"
    )
    lines = ["| calls | mean ms | statement |", "|---:|---:|---|"]
    for row in rows.splitlines():
        calls, mean, query = row.split("|", 2)
        lines.append(f"| {int(calls):,} | {mean} | `{query.replace('|', '/')}` |")
    return "\n".join(lines)
