"""bench/run.sh --smoke: the benchmark harness builds its own cluster, loads, measures, reports.

It proves that the harness runs, not how fast anything is. Select it with `-m bench`, leave it
out with `-m "not bench"`.
"""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
RESULTS = REPO / "bench" / ".work" / "results" / "latest-smoke.md"

pytestmark = [
    pytest.mark.bench,
    pytest.mark.skipif(
        os.geteuid() != 0, reason="bench/run.sh runs initdb as postgres and apt-get: needs root"
    ),
]


def test_smoke_run_measures_every_system_and_writes_the_report() -> None:
    # given
    RESULTS.unlink(missing_ok=True)

    # when
    run = subprocess.run(
        ["bash", str(REPO / "bench" / "run.sh"), "--smoke"],
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )

    # then
    assert run.returncode == 0, run.stderr[-4000:]
    report = RESULTS.read_text()
    assert "same dashboard:" in report  # tenantflow and PostGraphile answered alike
    for load in ("dashboard", "workflow by id + owner", "write mix", "dashboard under writes"):
        for system in ("tenantflow", "postgraphile", "ceiling"):
            assert f"| {load} | 4 | {system} |" in report
    for load in ("dashboard", "workflow by id + owner"):
        assert f"| {load} | 4 | tenantflow-uncached |" in report
    assert "Hot functions of tenantflow-uncached" in report  # py-spy sampled the servers
    assert "## Live status" in report
    assert "## Idle subscriptions" in report
