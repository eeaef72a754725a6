"""Loaders of the workflows domain (workflows, executions, steps, deployments)."""

from __future__ import annotations

import uuid
from dataclasses import dataclass

from tenantflow.db.session import SessionFactory


@dataclass
class WorkflowLoaders:
    @classmethod
    def create(cls, sessions: SessionFactory, tenant_id: uuid.UUID) -> WorkflowLoaders:
        return cls()
