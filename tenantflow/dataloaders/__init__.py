"""Per-request dataloaders: created fresh for every request in its context, for its tenant.

One container per domain, each owned by that domain's module; a batch opens its own short
tenant-scoped transaction (an AsyncSession must not be shared between concurrent resolvers).
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass

from strawberry.dataloader import DataLoader

from tenantflow.dataloaders.identity import IdentityLoaders
from tenantflow.dataloaders.operations import OperationLoaders
from tenantflow.dataloaders.users import users_loader
from tenantflow.dataloaders.workflows import WorkflowLoaders
from tenantflow.db.models import User
from tenantflow.db.session import SessionFactory


@dataclass
class DataLoaders:
    users: DataLoader[uuid.UUID, User | None]
    identity: IdentityLoaders
    workflows: WorkflowLoaders
    operations: OperationLoaders

    @classmethod
    def create(cls, sessions: SessionFactory, tenant_id: uuid.UUID | None) -> DataLoaders:
        """Loaders for `tenant_id`; without a tenant (anonymous) every load finds nothing."""
        scope = tenant_id or uuid.UUID(int=0)
        return cls(
            users=users_loader(sessions, scope),
            identity=IdentityLoaders.create(sessions, scope),
            workflows=WorkflowLoaders.create(sessions, scope),
            operations=OperationLoaders.create(sessions, scope),
        )
