"""The `NodeContext` of one step, and the process-wide services it draws on."""

from __future__ import annotations

import uuid
from dataclasses import dataclass

from tenantflow.db.session import SessionFactory
from tenantflow.definitions.node_base import NodeFailure
from tenantflow.global_ids import uuid_of
from tenantflow.outbound.policy import OutboundPolicy
from tenantflow.secrets.envelope import MasterKeyring
from tenantflow.services.errors import Conflict, NotFound
from tenantflow.services.operations.provider_keys import TYPE_NAME as PROVIDER_KEY
from tenantflow.services.operations.provider_keys import use_provider_key
from tenantflow.settings import Settings

# One message whatever the reason (unknown, malformed, revoked, another tenant's), so a workflow
# learns nothing about keys that are not its tenant's own.
PROVIDER_KEY_MISSING = "No active provider key of this tenant has the id in config.providerKeyId"


@dataclass(frozen=True, slots=True)
class NodeServices:
    """What node types may use beyond their config and input, shared by every run of a process."""

    keyring: MasterKeyring
    outbound: OutboundPolicy

    @classmethod
    def from_settings(cls, settings: Settings) -> NodeServices:
        return cls(
            keyring=MasterKeyring(settings.master_keys),
            outbound=OutboundPolicy.parse(settings.http_allow),
        )


@dataclass(frozen=True, slots=True)
class StepContext:
    """Where a node runs (tenant, execution, node) and what it may use there; a `NodeContext`."""

    sessions: SessionFactory
    services: NodeServices
    tenant_id: uuid.UUID
    execution_id: uuid.UUID
    node_id: str
    # Who queued the run (None for an API key): provider key uses are audited on their behalf.
    triggered_by: uuid.UUID | None

    @property
    def outbound(self) -> OutboundPolicy:
        return self.services.outbound

    async def provider_key_secret(self, key_id: str) -> str:
        key = uuid_of(key_id, PROVIDER_KEY)
        if key is None:
            raise NodeFailure(PROVIDER_KEY_MISSING)
        try:
            return await use_provider_key(
                db=self.sessions.for_tenant(self.tenant_id),
                keyring=self.services.keyring,
                key_id=key,
                user_id=self.triggered_by,
                details={"executionId": str(self.execution_id), "nodeId": self.node_id},
            )
        except (NotFound, Conflict):  # Conflict: ProviderKeyRevoked
            raise NodeFailure(PROVIDER_KEY_MISSING) from None
