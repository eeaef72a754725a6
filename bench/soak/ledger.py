"""What the soak knows: which tenant each id belongs to, what each tenant was acknowledged, and
every isolation violation seen (an id, a name or an event of another tenant)."""

from __future__ import annotations

import re
from collections import defaultdict
from dataclasses import dataclass, field
from typing import Any

# Every soak tenant's slug, name and workflow names carry its marker: one pattern finds them all.
MARKER = re.compile(r"soak[0-9a-f]{12}")


@dataclass
class Acknowledged:
    """One tenant's acknowledged writes: workflow id -> its last acknowledged name; runs."""

    workflows: dict[str, str] = field(default_factory=dict)
    executions: set[str] = field(default_factory=set)


@dataclass
class Ledger:
    owner_of: dict[str, int] = field(default_factory=dict)  # global id -> tenant index
    acknowledged: dict[int, Acknowledged] = field(default_factory=lambda: defaultdict(Acknowledged))
    violations: list[str] = field(default_factory=list)
    lost: list[str] = field(default_factory=list)
    latencies: dict[str, list[float]] = field(default_factory=lambda: defaultdict(list))
    errors: dict[str, int] = field(default_factory=lambda: defaultdict(int))
    requests: int = 0
    events: int = 0

    def own(self, tenant: int, global_id: str) -> None:
        previous = self.owner_of.setdefault(global_id, tenant)
        if previous != tenant:
            self.violations.append(f"id {global_id} of tenant {previous} answered to {tenant}")

    def check(self, tenant: int, marker: str, answer: Any, where: str) -> None:
        """Every marker in the answer is the tenant's own; every known id is its own."""
        text = repr(answer)
        strangers = {found for found in MARKER.findall(text) if found != marker}
        if strangers:
            self.violations.append(f"{where}: tenant {tenant} saw {sorted(strangers)[:3]}")
        for global_id in _ids(answer):
            owner = self.owner_of.get(global_id)
            if owner is not None and owner != tenant:
                self.violations.append(f"{where}: tenant {tenant} saw {global_id} of {owner}")

    def error(self, kind: str) -> None:
        self.errors[kind] += 1


def _ids(answer: Any) -> list[str]:
    found: list[str] = []
    if isinstance(answer, dict):
        for key, value in answer.items():
            if key == "id" and isinstance(value, str):
                found.append(value)
            else:
                found += _ids(value)
    elif isinstance(answer, list):
        for value in answer:
            found += _ids(value)
    return found
