"""The audit trail (read only: rows are written by every other mutation)."""

from __future__ import annotations

import strawberry


@strawberry.type
class AuditQuery:
    pass


@strawberry.type
class AuditMutation:
    pass
