"""The domain enums, registered as GraphQL enums under the contract's names."""

from __future__ import annotations

import strawberry

from tenantflow import enums

# strawberry.enum registers the class itself: annotations then use the domain enum directly.
for _enum in (
    enums.Role,
    enums.Plan,
    enums.TenantStatus,
    enums.WorkflowStatus,
    enums.ExecutionStatus,
    enums.DeploymentStatus,
    enums.Environment,
):
    strawberry.enum(_enum)
