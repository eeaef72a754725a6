"""The result every deleting mutation shares: the deleted object's id, or why not."""

from __future__ import annotations

from typing import Annotated

import strawberry

from tenantflow.schema.errors import (
    ConflictError,
    NotFoundError,
    PermissionDeniedError,
    TenantSuspendedError,
)


@strawberry.type
class DeletedPayload:
    id: strawberry.ID


DeleteResult = Annotated[
    DeletedPayload | NotFoundError | PermissionDeniedError | ConflictError | TenantSuspendedError,
    strawberry.union("DeleteResult"),
]
