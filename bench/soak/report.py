"""The soak's figures, as printed lines."""

from __future__ import annotations

from bench.soak.ledger import Ledger


def percentile(values: list[float], share: float) -> float:
    if not values:
        return 0.0
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(share * len(ordered)))]


def lines(ledger: Ledger, *, tenants: int, seconds: float, target: str) -> list[str]:
    every = [v for values in ledger.latencies.values() for v in values]
    errors = sum(ledger.errors.values())
    result = [
        f"soak: {tenants} tenants for {seconds:.0f} s against {target}",
        f"requests: {ledger.requests} ({ledger.requests / max(seconds, 1):.0f}/s): "
        + ", ".join(f"{kind} {len(values)}" for kind, values in sorted(ledger.latencies.items())),
        f"events received: {ledger.events}",
        f"errors: {errors}"
        + (
            " (" + ", ".join(f"{k} {n}" for k, n in sorted(ledger.errors.items())) + ")"
            if errors
            else ""
        ),
        f"isolation violations: {len(ledger.violations)}",
        f"lost acknowledged writes: {len(ledger.lost)}",
        "latency ms: "
        + ", ".join(
            f"p{int(share * 100)} {percentile(every, share):.1f}" for share in (0.5, 0.95, 0.99)
        )
        + f", max {max(every, default=0):.1f}",
    ]
    for kind, values in sorted(ledger.latencies.items()):
        result.append(
            f"  {kind}: p50 {percentile(values, 0.5):.1f}, p95 {percentile(values, 0.95):.1f},"
            f" p99 {percentile(values, 0.99):.1f}"
        )
    result += [f"  violation: {line}" for line in ledger.violations[:20]]
    result += [f"  lost: {line}" for line in ledger.lost[:20]]
    return result
