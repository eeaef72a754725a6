"""Per-request dataloaders: created fresh for every request (and websocket connection) in its
context, for the tenant of its credentials; never shared across tenants or requests.

One container per domain, each owned by that domain's module, every loader built on
`dataloaders.base` (one reading transaction per batch).
"""

from __future__ import annotations

from dataclasses import dataclass

from tenantflow.dataloaders.identity import IdentityLoaders
from tenantflow.dataloaders.operations import OperationLoaders
from tenantflow.dataloaders.workflows import WorkflowLoaders
from tenantflow.db.session import TenantDb


@dataclass
class DataLoaders:
    identity: IdentityLoaders
    workflows: WorkflowLoaders
    operations: OperationLoaders

    @classmethod
    def create(cls, db: TenantDb) -> DataLoaders:
        return cls(
            identity=IdentityLoaders.create(db),
            workflows=WorkflowLoaders.create(db),
            operations=OperationLoaders.create(db),
        )
