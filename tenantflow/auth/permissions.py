"""Roles -> permissions: the contract's table, in one place."""

from __future__ import annotations

from collections.abc import Mapping
from enum import StrEnum

from tenantflow.enums import Role


class Permission(StrEnum):
    """What `Viewer.permissions` lists and `PermissionDeniedError.requiredPermission` names."""

    TENANT_READ = "tenant:read"
    MEMBER_READ = "member:read"
    WORKFLOW_READ = "workflow:read"
    EXECUTION_READ = "execution:read"
    DEPLOYMENT_READ = "deployment:read"
    MODULE_READ = "module:read"
    WORKFLOW_WRITE = "workflow:write"
    EXECUTION_RUN = "execution:run"
    DEPLOYMENT_WRITE = "deployment:write"
    MODULE_MANAGE = "module:manage"
    PROVIDER_KEY_READ = "provider_key:read"
    PROVIDER_KEY_MANAGE = "provider_key:manage"
    API_KEY_READ = "api_key:read"
    API_KEY_MANAGE = "api_key:manage"
    AUDIT_READ = "audit:read"
    TENANT_UPDATE = "tenant:update"
    MEMBER_MANAGE = "member:manage"
    TENANT_DELETE = "tenant:delete"
    MEMBER_MANAGE_OWNER = "member:manage_owner"


_VIEWER = frozenset(
    {
        Permission.TENANT_READ,
        Permission.MEMBER_READ,
        Permission.WORKFLOW_READ,
        Permission.EXECUTION_READ,
        Permission.DEPLOYMENT_READ,
        Permission.MODULE_READ,
    }
)
_EDITOR = _VIEWER | {
    Permission.WORKFLOW_WRITE,
    Permission.EXECUTION_RUN,
    Permission.DEPLOYMENT_WRITE,
}
_ADMIN = _EDITOR | {
    Permission.MODULE_MANAGE,
    Permission.PROVIDER_KEY_READ,
    Permission.PROVIDER_KEY_MANAGE,
    Permission.API_KEY_READ,
    Permission.API_KEY_MANAGE,
    Permission.AUDIT_READ,
    Permission.TENANT_UPDATE,
    Permission.MEMBER_MANAGE,
}
_OWNER = _ADMIN | {Permission.TENANT_DELETE, Permission.MEMBER_MANAGE_OWNER}

ROLE_PERMISSIONS: Mapping[Role, frozenset[Permission]] = {
    Role.VIEWER: _VIEWER,
    Role.EDITOR: _EDITOR,
    Role.ADMIN: _ADMIN,
    Role.OWNER: _OWNER,
}


def permissions_of(role: Role) -> frozenset[Permission]:
    return ROLE_PERMISSIONS[role]


def sorted_permissions(role: Role) -> list[str]:
    """In the order of the contract's table, for a stable `Viewer.permissions`."""
    granted = ROLE_PERMISSIONS[role]
    return [permission.value for permission in Permission if permission in granted]
