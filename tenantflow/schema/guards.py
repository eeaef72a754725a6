"""Declarative access checks: every query field and mutation states what it needs, once.

- Query fields: `permission_classes=[requires(Permission.X)]` (or `[Authenticated]`). A refusal is a
  GraphQL error with `extensions.code` FORBIDDEN (UNAUTHENTICATED without credentials), and null.
- Mutations: `@mutation_guard(Permission.X)`. Missing credentials are a GraphQL error
  (UNAUTHENTICATED); a missing permission, a suspended tenant and every `DomainError` come back as
  the contract's union members.
"""

from __future__ import annotations

import functools
from collections.abc import Awaitable, Callable
from typing import Any, ParamSpec, TypeVar

from strawberry.permission import BasePermission

from tenantflow.auth.permissions import Permission
from tenantflow.auth.principal import Principal
from tenantflow.context import Info
from tenantflow.errors import ErrorCode, Refusal
from tenantflow.schema.errors import ErrorType, error_payload
from tenantflow.services.errors import DomainError, PermissionDenied, TenantSuspended

P = ParamSpec("P")
R = TypeVar("R")


class Authenticated(BasePermission):
    message = "Authentication required"
    error_extensions = {"code": ErrorCode.UNAUTHENTICATED.value}

    def has_permission(self, source: Any, info: Info, **kwargs: Any) -> bool:
        return info.context.principal is not None


_REQUIRES: dict[Permission, type[BasePermission]] = {}


def _principal_of(source: Any, info: Info) -> Principal | None:
    """Whose permissions count for a field: the principal an object was resolved for, when it
    carries one (`scope.principal`: a token's own viewer, e.g. AuthPayload.viewer, may differ
    from the request's credentials), else the request's."""
    principal = getattr(getattr(source, "scope", None), "principal", None)
    return principal if isinstance(principal, Principal) else info.context.principal


def requires(permission: Permission) -> type[BasePermission]:
    """The permission class for `permission` (one class per permission, made once)."""
    if permission in _REQUIRES:
        return _REQUIRES[permission]

    class Requires(BasePermission):
        message = f"This needs the {permission.value} permission"
        error_extensions = {"code": ErrorCode.FORBIDDEN.value}

        def has_permission(self, source: Any, info: Info, **kwargs: Any) -> bool:
            principal = _principal_of(source, info)
            if principal is None:
                raise Refusal("Authentication required", ErrorCode.UNAUTHENTICATED)
            return principal.can(permission)

    Requires.__name__ = Requires.__qualname__ = f"Requires_{permission.name}"
    _REQUIRES[permission] = Requires
    return Requires


def mutation_guard(
    permission: Permission | None = None,
    *,
    allowed_when_suspended: bool = False,
    authenticated: bool = True,
) -> Callable[[Callable[P, Awaitable[R]]], Callable[P, Awaitable[R | ErrorType]]]:
    """Wrap a mutation resolver (whose first arguments are `self, info`).

    `allowed_when_suspended` marks the mutations that only take access away, which a SUSPENDED
    tenant may still run. `authenticated=False` is for the sign-in mutations.
    """

    def decorate(resolver: Callable[P, Awaitable[R]]) -> Callable[P, Awaitable[R | ErrorType]]:
        @functools.wraps(resolver)
        async def guarded(*args: P.args, **kwargs: P.kwargs) -> R | ErrorType:
            info = kwargs.get("info", args[1] if len(args) > 1 else None)
            assert info is not None, "mutation resolvers take `info`"
            principal = info.context.principal if authenticated else None  # type: ignore[attr-defined]
            try:
                if authenticated:
                    principal = info.context.require_principal()  # type: ignore[attr-defined]
                    if permission is not None and not principal.can(permission):
                        raise PermissionDenied(permission.value)
                    if principal.is_suspended and not allowed_when_suspended:
                        raise TenantSuspended()
                return await resolver(*args, **kwargs)
            except DomainError as error:
                return error_payload(error)

        return guarded

    return decorate
