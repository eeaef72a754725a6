"""Loaders of the identity domain (tenants, members, invitations, API keys)."""

from __future__ import annotations

import uuid
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from typing import TypeVar

from strawberry.dataloader import DataLoader

from tenantflow.db.models import ApiKey, Invitation, Membership, Tenant
from tenantflow.db.session import SessionFactory
from tenantflow.services import api_keys, members, tenants

RowT = TypeVar("RowT")
Fetch = Callable[[list[uuid.UUID]], Awaitable[dict[uuid.UUID, RowT]]]


def _by_id(fetch: Fetch[RowT]) -> DataLoader[uuid.UUID, RowT | None]:
    async def load(ids: Sequence[uuid.UUID]) -> list[RowT | None]:
        found = await fetch(list(ids))
        return [found.get(key) for key in ids]

    return DataLoader(load_fn=load)


@dataclass
class IdentityLoaders:
    # The request's own tenant only: any other id loads None.
    tenant: DataLoader[uuid.UUID, Tenant | None]
    members: DataLoader[uuid.UUID, Membership | None]
    invitations: DataLoader[uuid.UUID, Invitation | None]
    api_keys: DataLoader[uuid.UUID, ApiKey | None]

    @classmethod
    def create(cls, sessions: SessionFactory, tenant_id: uuid.UUID) -> IdentityLoaders:
        async def tenant(ids: list[uuid.UUID]) -> dict[uuid.UUID, Tenant]:
            row = await tenants.get_tenant(sessions=sessions, tenant_id=tenant_id)
            return {tenant_id: row} if row and tenant_id in ids else {}

        async def member_rows(ids: list[uuid.UUID]) -> dict[uuid.UUID, Membership]:
            return await members.members_by_id(sessions=sessions, tenant_id=tenant_id, ids=ids)

        async def invitation_rows(ids: list[uuid.UUID]) -> dict[uuid.UUID, Invitation]:
            return await members.pending_invitations_by_id(
                sessions=sessions, tenant_id=tenant_id, ids=ids
            )

        async def api_key_rows(ids: list[uuid.UUID]) -> dict[uuid.UUID, ApiKey]:
            return await api_keys.api_keys_by_id(sessions=sessions, tenant_id=tenant_id, ids=ids)

        return cls(
            tenant=_by_id(tenant),
            members=_by_id(member_rows),
            invitations=_by_id(invitation_rows),
            api_keys=_by_id(api_key_rows),
        )
