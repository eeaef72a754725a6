"""Who performs a change and from where: what the audit trail records with every write."""

from __future__ import annotations

import uuid
from dataclasses import dataclass

from tenantflow.auth.principal import Principal


@dataclass(frozen=True, slots=True)
class Actor:
    principal: Principal
    ip_address: str | None = None
    request_id: str | None = None

    @property
    def tenant_id(self) -> uuid.UUID:
        return self.principal.tenant_id

    @property
    def user_id(self) -> uuid.UUID | None:
        return self.principal.user_id
