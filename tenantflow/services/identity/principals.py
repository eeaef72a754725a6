"""What only a signed-in user may do: API keys act in their own tenant and nowhere else."""

from __future__ import annotations

import uuid

from tenantflow.auth.permissions import Permission
from tenantflow.auth.principal import Principal
from tenantflow.services.errors import PermissionDenied


def require_user(principal: Principal) -> uuid.UUID:
    """The principal's user; PermissionDenied for an API key.

    The contract has no permission for "is a user"; the error names tenant:read, the permission an
    API key would need in any tenant other than its own.
    """
    if principal.user_id is None:
        raise PermissionDenied(
            Permission.TENANT_READ.value, "API keys cannot do this: sign in as a user"
        )
    return principal.user_id
