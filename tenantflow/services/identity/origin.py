"""Where an unauthenticated request came from: what the audit trail records for sign-ins."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Origin:
    ip_address: str | None = None
    request_id: str | None = None
