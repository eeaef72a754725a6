"""Provider keys: third-party secrets, stored encrypted, never returned."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated

import strawberry

from tenantflow.auth.permissions import Permission
from tenantflow.context import Info
from tenantflow.db import models
from tenantflow.schema.arguments import page_args
from tenantflow.schema.connections import Connection, Listed, connection
from tenantflow.schema.errors import (
    NotFoundError,
    PermissionDeniedError,
    QuotaExceededError,
    TenantSuspendedError,
    ValidationError,
)
from tenantflow.schema.guards import mutation_guard, requires
from tenantflow.schema.ids import require_key, to_global_id
from tenantflow.schema.node import Node, register_node
from tenantflow.services.operations import provider_keys as service

TYPE_NAME = service.TYPE_NAME


@strawberry.type(
    description="A third-party provider credential, stored encrypted. The secret is never returned."
)
class ProviderKey(Node):
    provider: str
    name: str
    masked_key: str = strawberry.field(
        description="e.g. sk-…9f2c: at most the last 4 characters of the secret."
    )
    is_active: bool
    created_at: datetime
    last_used_at: datetime | None
    revoked_at: datetime | None = strawberry.field(
        description="When the key was revoked (isActive false since); null while active."
    )

    @classmethod
    def from_row(cls, row: models.ProviderKey) -> ProviderKey:
        return cls(
            id=to_global_id(TYPE_NAME, row.id),
            provider=row.provider,
            name=row.name,
            masked_key=row.masked_key,
            is_active=row.is_active,
            created_at=row.created_at,
            last_used_at=row.last_used_at,
            revoked_at=row.revoked_at,
        )


async def load_provider_key(info: Info, key_id: uuid.UUID) -> ProviderKey | None:
    row = await info.context.loaders.operations.provider_keys.load(key_id)
    return ProviderKey.from_row(row) if row else None


register_node(TYPE_NAME, Permission.PROVIDER_KEY_READ, load_provider_key)


@strawberry.input
class CreateProviderKeyInput:
    provider: str
    name: str
    secret: str

    def __repr__(self) -> str:
        # Kept out of every repr (tracebacks, debug logs); dataclass keeps a __repr__ it finds.
        return f"CreateProviderKeyInput(provider={self.provider!r}, name={self.name!r})"


@strawberry.type
class ProviderKeyPayload:
    provider_key: ProviderKey


ProviderKeyResult = Annotated[
    ProviderKeyPayload
    | ValidationError
    | NotFoundError
    | PermissionDeniedError
    | QuotaExceededError
    | TenantSuspendedError,
    strawberry.union("ProviderKeyResult"),
]


@strawberry.type
class ProviderKeyQuery:
    @strawberry.field(
        permission_classes=[requires(Permission.PROVIDER_KEY_READ)],
        description=(
            "ADMIN and OWNER only (null otherwise, with a FORBIDDEN error)."
            " Newest first (createdAt DESC); revoked keys included (isActive false)."
        ),
    )
    async def provider_keys(
        self,
        info: Info,
        *,
        first: int | None = strawberry.UNSET,
        after: str | None = strawberry.UNSET,
        last: int | None = strawberry.UNSET,
        before: str | None = strawberry.UNSET,
    ) -> Connection[ProviderKey] | None:
        return await connection(
            Listed(info.context.db, service.provider_keys_listing()),
            page_args(first, after, last, before),
            ProviderKey.from_row,
        )


@strawberry.type
class ProviderKeyMutation:
    @strawberry.mutation(description="Stores the secret encrypted; only maskedKey is ever shown.")
    @mutation_guard(Permission.PROVIDER_KEY_MANAGE)
    async def create_provider_key(
        self, info: Info, input: CreateProviderKeyInput
    ) -> ProviderKeyResult:
        row = await service.create_provider_key(
            db=info.context.db,
            keyring=info.context.runtime.keyring,
            actor=info.context.actor,
            provider=input.provider,
            name=input.name,
            secret=input.secret,
        )
        return ProviderKeyPayload(provider_key=ProviderKey.from_row(row))

    @strawberry.mutation(
        description="Deactivates the key for good; revoking a revoked key changes nothing."
    )
    @mutation_guard(Permission.PROVIDER_KEY_MANAGE, allowed_when_suspended=True)
    async def revoke_provider_key(self, info: Info, id: strawberry.ID) -> ProviderKeyResult:
        row = await service.revoke_provider_key(
            db=info.context.db,
            actor=info.context.actor,
            key_id=require_key(id, TYPE_NAME),
        )
        return ProviderKeyPayload(provider_key=ProviderKey.from_row(row))
