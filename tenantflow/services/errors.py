"""Expected failures of domain operations. The GraphQL layer maps each to the contract's union
member of the same name (tenantflow/schema/errors.py); nothing else catches them."""

from __future__ import annotations

from dataclasses import dataclass

from tenantflow.enums import Plan


class DomainError(Exception):
    """An expected failure: nothing was written, and the message is safe to show."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


@dataclass(frozen=True, slots=True)
class FieldProblem:
    field: str  # a path into the input, e.g. input.definition.nodes[3].config.ms
    message: str


class ValidationFailed(DomainError):
    def __init__(self, problems: list[FieldProblem], message: str = "Invalid input") -> None:
        super().__init__(message)
        self.problems = problems

    @classmethod
    def single(cls, field: str, message: str) -> ValidationFailed:
        return cls([FieldProblem(field, message)], message)


class NotFound(DomainError):
    def __init__(self, type_name: str) -> None:
        # The same shape whether the id is malformed, of another type, of another tenant or gone.
        super().__init__(f"{type_name} not found")
        self.type_name = type_name


class PermissionDenied(DomainError):
    def __init__(self, permission: str, message: str | None = None) -> None:
        super().__init__(message or f"This needs the {permission} permission")
        self.permission = permission


class QuotaExceeded(DomainError):
    def __init__(self, resource: str, limit: int, plan: Plan) -> None:
        super().__init__(f"The {plan.value} plan allows {limit} {resource}")
        self.resource = resource
        self.limit = limit
        self.plan = plan


class Conflict(DomainError):
    pass


class InvalidCredentials(DomainError):
    def __init__(self, message: str = "Invalid email or password") -> None:
        super().__init__(message)


class TenantSuspended(DomainError):
    def __init__(self) -> None:
        super().__init__("The tenant is suspended: reads work, changes are refused")


class ModuleDependency(DomainError):
    def __init__(self, message: str, modules: list[str], missing_settings: list[str]) -> None:
        super().__init__(message)
        self.modules = modules
        self.missing_settings = missing_settings


class InvalidTransition(DomainError):
    def __init__(
        self, from_status: str, to_status: str, what: str = "status", message: str | None = None
    ) -> None:
        super().__init__(message or f"Cannot change {what} from {from_status} to {to_status}")
        self.from_status = from_status
        self.to_status = to_status
