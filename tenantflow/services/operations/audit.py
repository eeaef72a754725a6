"""The audit trail: one row per successful change, written in the change's own transaction."""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from typing import Any

from sqlmodel.ext.asyncio.session import AsyncSession

from tenantflow.db.models import AuditLog
from tenantflow.db.session import require_tenant
from tenantflow.services.actor import Actor

# Keys whose values never enter an audit row, whatever the caller passes.
_SECRET_KEYS = frozenset(
    {
        "password",
        "currentpassword",
        "newpassword",
        "secret",
        "token",
        "accesstoken",
        "refreshtoken",
        "apikey",
        "secretkey",
        "ciphertext",
        "passwordhash",
    }
)
_REDACTED = "[redacted]"


def redact(details: Mapping[str, Any]) -> dict[str, Any]:
    """Drop secret material from audit details, at any depth."""

    def clean(value: Any) -> Any:
        if isinstance(value, Mapping):
            return {str(k): _REDACTED if _is_secret(str(k)) else clean(v) for k, v in value.items()}
        if isinstance(value, list):
            return [clean(item) for item in value]
        return value

    return dict(clean(details))


def _is_secret(key: str) -> bool:
    return key.replace("_", "").lower() in _SECRET_KEYS


def changes(before: Mapping[str, Any], after: Mapping[str, Any]) -> dict[str, Any]:
    """The fields that changed, as {"field": {"before": x, "after": y}}."""
    return {
        name: {"before": before.get(name), "after": value}
        for name, value in after.items()
        if before.get(name) != value
    }


def record(
    session: AsyncSession,
    *,
    actor: Actor | None,
    action: str,
    resource_type: str,
    resource_id: uuid.UUID | str | None = None,
    details: Mapping[str, Any] | None = None,
    user_id: uuid.UUID | None = None,
    ip_address: str | None = None,
    request_id: str | None = None,
) -> AuditLog:
    """Add an audit row to the session's transaction (in the session's tenant); it commits or
    rolls back with the change.

    `actor` is the authenticated principal; for sign-up, login and other unauthenticated actions
    pass `user_id` (and the request's address and id) instead.
    """
    tenant_id = require_tenant(session)
    principal = actor.principal if actor else None
    row = AuditLog(
        tenant_id=tenant_id,
        action=action,
        resource_type=resource_type,
        resource_id=str(resource_id) if resource_id is not None else None,
        actor_user_id=principal.user_id if principal else user_id,
        actor_api_key_id=principal.api_key_id if principal else None,
        actor_api_key_name=principal.api_key_name if principal else None,
        details=redact(details) if details else None,
        ip_address=actor.ip_address if actor else ip_address,
        request_id=actor.request_id if actor else request_id,
    )
    session.add(row)
    return row
