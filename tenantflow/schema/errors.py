"""Expected failures as data: the contract's error types, and the one mapping to them."""

from __future__ import annotations

import strawberry

from tenantflow.enums import Plan
from tenantflow.services import errors as domain


@strawberry.interface
class Error:
    message: str


@strawberry.type
class FieldError:
    field: str
    message: str


@strawberry.type
class ValidationError(Error):
    fields: list[FieldError]


@strawberry.type
class NotFoundError(Error):
    pass


@strawberry.type
class PermissionDeniedError(Error):
    required_permission: str


@strawberry.type
class QuotaExceededError(Error):
    resource: str
    limit: int
    plan: Plan


@strawberry.type
class ConflictError(Error):
    pass


@strawberry.type
class InvalidCredentialsError(Error):
    pass


@strawberry.type
class TenantSuspendedError(Error):
    pass


@strawberry.type
class ModuleDependencyError(Error):
    modules: list[str] = strawberry.field(
        description=(
            "Modules that must be enabled first (enable) or that still depend on this one"
            " (disable)."
        )
    )
    missing_settings: list[str]


@strawberry.type
class InvalidTransitionError(Error):
    from_: str = strawberry.field(name="from")
    to: str


ErrorType = (
    ValidationError
    | NotFoundError
    | PermissionDeniedError
    | QuotaExceededError
    | ConflictError
    | InvalidCredentialsError
    | TenantSuspendedError
    | ModuleDependencyError
    | InvalidTransitionError
)


def error_payload(error: domain.DomainError) -> ErrorType:  # noqa: PLR0911  (one case per type)
    """The union member for a domain error."""
    match error:
        case domain.ValidationFailed():
            return ValidationError(
                message=error.message,
                fields=[FieldError(field=p.field, message=p.message) for p in error.problems],
            )
        case domain.NotFound():
            return NotFoundError(message=error.message)
        case domain.PermissionDenied():
            return PermissionDeniedError(
                message=error.message, required_permission=error.permission
            )
        case domain.QuotaExceeded():
            return QuotaExceededError(
                message=error.message, resource=error.resource, limit=error.limit, plan=error.plan
            )
        case domain.Conflict():
            return ConflictError(message=error.message)
        case domain.InvalidCredentials():
            return InvalidCredentialsError(message=error.message)
        case domain.TenantSuspended():
            return TenantSuspendedError(message=error.message)
        case domain.ModuleDependency():
            return ModuleDependencyError(
                message=error.message,
                modules=error.modules,
                missing_settings=error.missing_settings,
            )
        case domain.InvalidTransition():
            return InvalidTransitionError(
                message=error.message, from_=error.from_status, to=error.to_status
            )
    raise TypeError(f"no GraphQL error type for {type(error).__name__}")
