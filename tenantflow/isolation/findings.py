"""What a check reports: one problem, where it is, and how to fix it."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Finding:
    check: str  # the family: tables, functions, roles, audit, references, probe
    subject: str  # the table, function, role or field concerned
    problem: str
    fix: str

    def lines(self) -> list[str]:
        return [f"FAIL {self.check}: {self.subject}: {self.problem}", f"     fix: {self.fix}"]
