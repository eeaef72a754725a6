"""Loaders of the operations domain (modules, provider keys, audit logs)."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, TypeVar

from sqlmodel import col, select
from strawberry.dataloader import DataLoader

from tenantflow.db.models import AuditLog, ProviderKey
from tenantflow.db.session import SessionFactory

RowT = TypeVar("RowT", ProviderKey, AuditLog)


def _by_id(
    sessions: SessionFactory, tenant_id: uuid.UUID, model: type[RowT]
) -> DataLoader[uuid.UUID, RowT | None]:
    """Rows of `model` by primary key, of the loader's tenant only; None for any other."""

    async def load(ids: Sequence[uuid.UUID]) -> list[RowT | None]:
        statement = select(model).where(col(model.id).in_(list(ids)))
        async with sessions.tenant_reader(tenant_id) as session:
            found: dict[Any, RowT] = {row.id: row for row in (await session.exec(statement)).all()}
        return [found.get(key) for key in ids]

    return DataLoader(load_fn=load)


@dataclass
class OperationLoaders:
    provider_keys: DataLoader[uuid.UUID, ProviderKey | None]
    audit_logs: DataLoader[uuid.UUID, AuditLog | None]

    @classmethod
    def create(cls, sessions: SessionFactory, tenant_id: uuid.UUID) -> OperationLoaders:
        return cls(
            provider_keys=_by_id(sessions, tenant_id, ProviderKey),
            audit_logs=_by_id(sessions, tenant_id, AuditLog),
        )
