"""The active tenant: its settings, usage and lifecycle."""

from __future__ import annotations

import strawberry


@strawberry.type
class TenantQuery:
    pass


@strawberry.type
class TenantMutation:
    pass
