"""Every table of the schema; importing this package registers them all on the metadata."""

from tenantflow.db.models.identity import (
    ApiKey,
    Invitation,
    Membership,
    RefreshToken,
    RefreshTokenFamily,
    Tenant,
    User,
)
from tenantflow.db.models.operations import (
    AuditLog,
    Module,
    ProviderKey,
    TenantDataKey,
    TenantModule,
)
from tenantflow.db.models.workflows import (
    Deployment,
    EventSequence,
    Execution,
    ExecutionEvent,
    ExecutionStep,
    IdempotencyKey,
    UsageCounter,
    Workflow,
)

__all__ = [
    "ApiKey",
    "AuditLog",
    "Deployment",
    "EventSequence",
    "Execution",
    "ExecutionEvent",
    "ExecutionStep",
    "IdempotencyKey",
    "Invitation",
    "Membership",
    "Module",
    "ProviderKey",
    "RefreshToken",
    "RefreshTokenFamily",
    "Tenant",
    "TenantDataKey",
    "TenantModule",
    "UsageCounter",
    "User",
    "Workflow",
]
