"""Where a tenantflow server's CPU goes under a load: py-spy samples of its worker processes.

py-spy (a sampling profiler from PyPI, in the dev extras) attaches to the running server, so the
profile is of the same processes, settings and data the rounds measured. The samples are folded
into a few parts of the request path (inclusive: a sample counts for every part on its stack)
and the functions that were running when sampled (self time).
"""

from __future__ import annotations

import shutil
import subprocess
import sys
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

SAMPLES_PER_SECOND = 250
# Installed beside the interpreter that runs the bench (the project's .venv), else on PATH.
PY_SPY = str(Path(sys.executable).parent / "py-spy")

# (part of the request path, what in a frame's file marks it); first match names a frame's part.
PARTS: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("answer cache", ("tenantflow/cache/",)),
    ("projection (one-statement reads)", ("tenantflow/schema/projection/",)),
    ("protection (limits, budgets)", ("tenantflow/protection/", "tenantflow/schema/protection")),
    ("credentials", ("tenantflow/services/identity/credentials", "tenantflow/auth/")),
    ("parse and validate", ("graphql/language/", "graphql/validation/")),
    ("GraphQL execution", ("graphql/execution/",)),
    ("Strawberry", ("strawberry/",)),
    ("SQLAlchemy", ("sqlalchemy/",)),
    ("asyncpg", ("asyncpg/",)),
    ("JSON", ("json/", "orjson")),
    ("HTTP (uvicorn, starlette)", ("uvicorn/", "starlette/", "h11/", "httptools")),
    ("asyncio event loop", ("asyncio/",)),
)


@dataclass(frozen=True)
class Profile:
    samples: int
    parts: dict[str, int]  # inclusive samples per part
    functions: list[tuple[str, int]]  # self samples, most first


def available() -> bool:
    return shutil.which(PY_SPY) is not None


def record(pid: int, seconds: int, output: Path) -> subprocess.Popen[bytes]:
    """Starts sampling the server `pid` and its worker processes for `seconds`."""
    command = [PY_SPY, "record", "--pid", str(pid), "--subprocesses", "--nonblocking"]
    command += ["--rate", str(SAMPLES_PER_SECOND), "--duration", str(seconds)]
    command += ["--format", "raw", "--output", str(output)]
    return subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)


def finish(process: subprocess.Popen[bytes], output: Path) -> Profile:
    _, stderr = process.communicate(timeout=120)
    if process.returncode != 0 or not output.exists():
        raise RuntimeError(f"py-spy failed ({process.returncode}): {stderr.decode()[-300:]}")
    return fold(output.read_text())


def fold(collapsed: str) -> Profile:
    """Collapsed stacks ("frame;frame;… count" per line) into parts and self time."""
    parts: Counter[str] = Counter()
    functions: Counter[str] = Counter()
    total = 0
    for line in collapsed.splitlines():
        stack, _, count_text = line.rpartition(" ")
        if not stack or not count_text.isdigit():
            continue
        count = int(count_text)
        frames = [f for f in stack.split(";") if not f.startswith("process ")]
        if not frames:
            continue
        total += count
        for part in {_part_of(frame) for frame in frames} - {None}:
            parts[str(part)] += count
        functions[_short(frames[-1])] += count
    return Profile(samples=total, parts=dict(parts), functions=functions.most_common(15))


def _part_of(frame: str) -> str | None:
    for part, marks in PARTS:
        if any(mark in frame for mark in marks):
            return part
    return None


def _short(frame: str) -> str:
    """`func (/long/path/site-packages/pkg/mod.py:12)` -> `func (pkg/mod.py)`."""
    name, _, where = frame.partition(" (")
    path = where.rstrip(")").rsplit(":", 1)[0]
    for marker in ("site-packages/", "lib/python3", "/work/"):
        if marker in path:
            path = path.split(marker, 1)[1]
            break
    return f"{name} ({'/'.join(path.split('/')[-2:])})"


def table(profiles: dict[str, Profile], *, load: str, seconds: int) -> str:
    """Markdown: the parts side by side for each profiled server, then each one's hot functions."""
    names = list(profiles)
    lines = [
        f"py-spy, {SAMPLES_PER_SECOND} samples/s of every worker for {seconds} s under {load};"
        " a sample counts for every part on its stack, so a column sums to more than 100 %.",
        "",
        "| part | " + " | ".join(names) + " |",
        "|---|" + "---:|" * len(names),
    ]
    for part, _ in PARTS:
        cells = [_share(p.parts.get(part, 0), p.samples) for p in profiles.values()]
        lines.append(f"| {part} | " + " | ".join(cells) + " |")
    lines.append("| samples | " + " | ".join(f"{p.samples:,}" for p in profiles.values()) + " |")
    for name, p in profiles.items():
        lines += ["", f"Hot functions of {name} (self time):", ""]
        lines += [f"- {_share(count, p.samples)} `{function}`" for function, count in p.functions]
    return "\n".join(lines)


def _share(count: int, total: int) -> str:
    return f"{100 * count / total:.1f} %" if total else "n/a"


def profile_servers(
    servers: dict[str, int],
    *,
    seconds: int,
    load: Callable[[str, int], Callable[[], object]],
    work_dir: Path,
) -> dict[str, Profile]:
    """For each server (name -> pid): start `load(name, seconds)`, sample it, wait for both."""
    profiles = {}
    for name, pid in servers.items():
        output = work_dir / f"profile-{name}.txt"
        wait_for_load = load(name, seconds + 2)
        sampling = record(pid, seconds, output)
        wait_for_load()
        profiles[name] = finish(sampling, output)
    return profiles
