"""CPU time of a process tree, from /proc: what a server spent while a load ran."""

from __future__ import annotations

import os
from pathlib import Path

PROC = Path("/proc")
TICKS = os.sysconf("SC_CLK_TCK")


def _stat_fields(pid: int) -> list[str] | None:
    try:
        raw = (PROC / str(pid) / "stat").read_text()
    except (FileNotFoundError, ProcessLookupError, PermissionError):
        return None
    # The command name (field 2) may hold spaces; everything after its closing parenthesis splits.
    return raw[raw.rindex(")") + 2 :].split()


def _children() -> dict[int, list[int]]:
    children: dict[int, list[int]] = {}
    for entry in PROC.iterdir():
        if not entry.name.isdigit():
            continue
        fields = _stat_fields(int(entry.name))
        if fields is not None:
            children.setdefault(int(fields[1]), []).append(int(entry.name))
    return children


def tree_cpu_seconds(root: int) -> float:
    """utime + stime of the tree, plus cutime + cstime: children that exited (a pgbench
    connection's backend, say) were added to their parent's when it reaped them."""
    children = _children()
    total_ticks = 0
    pending = [root]
    while pending:
        pid = pending.pop()
        fields = _stat_fields(pid)
        if fields is None:
            continue
        # After the state and ppid fields: utime, stime, cutime, cstime are fields 14-17 of stat.
        total_ticks += sum(int(value) for value in fields[11:15])
        pending.extend(children.get(pid, []))
    return total_ticks / TICKS
