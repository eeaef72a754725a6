"""One load run: wrk against an HTTP server, or pgbench for the ceiling; figures as a Sample."""

from __future__ import annotations

import json
import re
import statistics
import subprocess
from dataclasses import dataclass
from pathlib import Path

from bench.pg import Cluster, Login

WRK_SCRIPT = Path(__file__).parent / "wrk" / "rotate.lua"


@dataclass(frozen=True)
class Sample:
    requests: int
    seconds: float
    p50_ms: float
    p95_ms: float
    p99_ms: float
    non2xx: int
    failed: int  # 2xx whose body reports an error (GraphQL errors, error union members)

    @property
    def rps(self) -> float:
        return self.requests / self.seconds if self.seconds else 0.0

    @property
    def errors(self) -> int:
        return self.non2xx + self.failed


class LoadError(RuntimeError):
    pass


def _threads(connections: int) -> int:
    return min(2, connections)


def wrk(url: str, request_file: Path, *, connections: int, seconds: int) -> subprocess.Popen[str]:
    """Starts wrk; `finish_wrk` waits for it (the mixed load runs two at once)."""
    command = ["wrk", "-t", str(_threads(connections)), "-c", str(connections)]
    command += ["-d", f"{seconds}s", "--timeout", "30s", "-s", str(WRK_SCRIPT), url]
    command += ["--", str(request_file)]
    return subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def finish_wrk(process: subprocess.Popen[str]) -> Sample:
    stdout, stderr = process.communicate()
    line = next((x for x in stdout.splitlines() if x.startswith("BENCH ")), None)
    if process.returncode != 0 or line is None:
        raise LoadError(f"wrk failed ({process.returncode}): {stderr.strip() or stdout[-500:]}")
    figures = json.loads(line.removeprefix("BENCH "))
    return Sample(
        requests=figures["requests"],
        seconds=figures["duration_us"] / 1e6,
        p50_ms=figures["p50_us"] / 1000,
        p95_ms=figures["p95_us"] / 1000,
        p99_ms=figures["p99_us"] / 1000,
        non2xx=figures["non2xx"] + figures["socket_errors"],
        failed=figures["failed"],
    )


@dataclass(frozen=True)
class Pgbench:
    cluster: Cluster
    login: Login
    database: str
    variables: dict[str, int]
    log_dir: Path

    def start(
        self, scripts: list[Path], *, connections: int, seconds: int, tag: str
    ) -> subprocess.Popen[str]:
        prefix = self.log_dir / tag
        command = [str(self.cluster.bin_dir / "pgbench"), "-n", "-c", str(connections)]
        command += ["-j", str(_threads(connections)), "-T", str(seconds)]
        command += ["-l", f"--log-prefix={prefix}"]
        for name, value in self.variables.items():
            command += ["-D", f"{name}={value}"]
        for script in scripts:
            command += ["-f", f"{script}@1"]
        command.append(self.database)
        for old in self.log_dir.glob(f"{tag}.*"):
            old.unlink()
        return subprocess.Popen(
            command,
            env=self.cluster.env(self.login),
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )

    def finish(self, process: subprocess.Popen[str], *, tag: str, seconds: int) -> Sample:
        stdout, stderr = process.communicate()
        with (self.log_dir / "pgbench.log").open("a") as output:
            output.write(f"--- {tag}\n{stdout}{stderr}")
        processed = re.search(r"number of transactions actually processed: (\d+)", stdout)
        if processed is None:
            raise LoadError(f"pgbench failed ({process.returncode}): {stderr.strip()[-800:]}")
        failed = re.search(r"number of failed transactions: (\d+)", stdout)
        latencies = sorted(
            int(line.split()[2])
            for path in self.log_dir.glob(f"{tag}.*")
            for line in path.read_text().splitlines()
        )
        # An aborted client (an SQL error) makes pgbench exit 2: count it as one error at least.
        aborted = 1 if process.returncode != 0 else 0
        p50, p95, p99 = _percentiles(latencies)
        return Sample(
            requests=int(processed.group(1)),
            seconds=float(seconds),
            p50_ms=p50 / 1000,
            p95_ms=p95 / 1000,
            p99_ms=p99 / 1000,
            non2xx=0,
            failed=(int(failed.group(1)) if failed else 0) + aborted,
        )


def _percentiles(values: list[int]) -> tuple[float, float, float]:
    if len(values) < 2:
        value = float(values[0]) if values else 0.0
        return value, value, value
    cuts = statistics.quantiles(values, n=100, method="inclusive")
    return cuts[49], cuts[94], cuts[98]
