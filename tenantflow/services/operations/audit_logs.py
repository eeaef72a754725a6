"""Reading the audit trail (rows are written by every change through `services.audit.record`).

`resource_id` is stored as the resource's raw key (`str(uuid)`, or a natural key such as a
module's), next to `resource_type`, the GraphQL type name. The API shows the pair as one global id,
`base64("<resource_type>:<resource_id>")`: the same id the resource itself has, so a client filters
a resource's history with the id it already holds.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.sql.elements import ColumnElement
from sqlmodel import col

from tenantflow.db.models import AuditLog
from tenantflow.db.pagination import Listing, SortOrder

# Newest first, ties broken by id (the contract's order for audit rows).
ORDER = SortOrder.by_time("CREATED_AT", col(AuditLog.created_at), col(AuditLog.id), descending=True)


def stored_resource_id(key: str) -> str:
    """The form `audit.record` stores a key in: uuids canonical (lowercase, hyphenated)."""
    try:
        return str(uuid.UUID(key))
    except ValueError:
        return key


@dataclass(frozen=True, slots=True)
class AuditFilter:
    """Conditions that all hold. `matches_nothing` stands for an id that cannot name a row."""

    action: str | None = None
    resource_type: str | None = None
    # (resource_type, resource_id) as stored.
    resource: tuple[str, str] | None = None
    actor_user_id: uuid.UUID | None = None
    actor_api_key_id: uuid.UUID | None = None
    # Both bounds exclusive.
    created_after: datetime | None = None
    created_before: datetime | None = None
    matches_nothing: bool = False

    def conditions(self) -> list[ColumnElement[bool]]:
        if self.matches_nothing:
            return [sa.false()]
        conditions: list[ColumnElement[bool]] = []
        if self.action is not None:
            conditions.append(col(AuditLog.action) == self.action)
        if self.resource_type is not None:
            conditions.append(col(AuditLog.resource_type) == self.resource_type)
        if self.resource is not None:
            resource_type, resource_id = self.resource
            conditions.append(col(AuditLog.resource_type) == resource_type)
            conditions.append(col(AuditLog.resource_id) == resource_id)
        if self.actor_user_id is not None:
            conditions.append(col(AuditLog.actor_user_id) == self.actor_user_id)
        if self.actor_api_key_id is not None:
            conditions.append(col(AuditLog.actor_api_key_id) == self.actor_api_key_id)
        if self.created_after is not None:
            conditions.append(col(AuditLog.created_at) > self.created_after)
        if self.created_before is not None:
            conditions.append(col(AuditLog.created_at) < self.created_before)
        return conditions

    def statement(self) -> sa.Select[Any]:
        return sa.select(AuditLog).where(*self.conditions())


def audit_logs_listing(audit_filter: AuditFilter) -> Listing:
    """The tenant's audit rows; its cursors are valid with this filter only."""
    return Listing.of(audit_filter.statement(), ORDER, audit_filter)
