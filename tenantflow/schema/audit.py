"""The audit trail (read only: rows are written by every other mutation)."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import cast

import strawberry
from strawberry.scalars import JSON

from tenantflow.auth.permissions import Permission
from tenantflow.context import Info
from tenantflow.db import models
from tenantflow.schema.arguments import aware, given, page_args
from tenantflow.schema.connections import Connection, Listed, connection
from tenantflow.schema.guards import requires
from tenantflow.schema.ids import parse_global_id, to_global_id, typed_key
from tenantflow.schema.node import Node, register_node
from tenantflow.schema.users import User, load_user
from tenantflow.services.operations import audit_logs as service

TYPE_NAME = "AuditLog"
# Principals an audit row can name as its actor, by the type of the actorId given.
_ACTOR_TYPES = ("User", "ApiKey")


@strawberry.type
class AuditLog(Node):
    action: str = strawberry.field(
        description=(
            "e.g. workflow.create, workflow.update, member.remove, module.enable, auth.login"
        )
    )
    resource_type: str
    resource_id: strawberry.ID | None = strawberry.field(
        description="The global id of the resource (base64 of resourceType and its key)."
    )
    actor_user_id: strawberry.Private[uuid.UUID | None]
    actor_api_key_name: str | None
    details: JSON | None = strawberry.field(
        description="Changed fields (before/after) and other context; never secrets or password"
        " material."
    )
    ip_address: str | None
    request_id: str | None
    created_at: datetime

    @strawberry.field(
        description="The user who acted, while a member of the tenant; null for an API key."
    )
    async def actor(self, info: Info) -> User | None:
        return await load_user(info, self.actor_user_id)

    @classmethod
    def from_row(cls, row: models.AuditLog) -> AuditLog:
        return cls(
            id=to_global_id(TYPE_NAME, row.id),
            action=row.action,
            resource_type=row.resource_type,
            resource_id=(
                to_global_id(row.resource_type, row.resource_id)
                if row.resource_id is not None
                else None
            ),
            actor_user_id=row.actor_user_id,
            actor_api_key_name=row.actor_api_key_name,
            details=cast("JSON | None", row.details),
            ip_address=row.ip_address,
            request_id=row.request_id,
            created_at=row.created_at,
        )


async def load_audit_log(info: Info, log_id: uuid.UUID) -> AuditLog | None:
    row = await info.context.loaders.operations.audit_logs.load(log_id)
    return AuditLog.from_row(row) if row else None


register_node(TYPE_NAME, Permission.AUDIT_READ, load_audit_log)


@strawberry.input(
    description=(
        "All given conditions hold. resourceId is the resource's global id; actorId a User's"
        " (or an ApiKey's) global id; an id that names nothing matches nothing. createdAfter and"
        " createdBefore are exclusive and need an explicit UTC offset."
    )
)
class AuditLogFilter:
    action: str | None = strawberry.UNSET
    resource_type: str | None = strawberry.UNSET
    resource_id: strawberry.ID | None = strawberry.UNSET
    actor_id: strawberry.ID | None = strawberry.UNSET
    created_after: datetime | None = strawberry.UNSET
    created_before: datetime | None = strawberry.UNSET


def to_audit_filter(wanted: AuditLogFilter | None) -> service.AuditFilter:
    """The service's filter for the GraphQL one. Ids that are malformed, of a type that cannot
    match, or of another tenant are not errors: like every id that names nothing, they match no
    row (the contract treats them all as ids that do not exist)."""
    if wanted is None:
        return service.AuditFilter()
    created_after = aware(wanted.created_after, "filter.createdAfter")
    created_before = aware(wanted.created_before, "filter.createdBefore")
    resource_id, actor_id = given(wanted.resource_id), given(wanted.actor_id)
    matches_nothing = False
    resource: tuple[str, str] | None = None
    if resource_id is not None:
        parsed = parse_global_id(resource_id)
        if parsed is None:
            matches_nothing = True
        else:
            resource = (parsed[0], service.stored_resource_id(parsed[1]))
    actor_user_id: uuid.UUID | None = None
    actor_api_key_id: uuid.UUID | None = None
    if actor_id is not None:
        actor = typed_key(actor_id, _ACTOR_TYPES)
        if actor is None:
            matches_nothing = True
        elif actor[0] == "User":
            actor_user_id = actor[1]
        else:
            actor_api_key_id = actor[1]
    return service.AuditFilter(
        action=given(wanted.action),
        resource_type=given(wanted.resource_type),
        resource=resource,
        actor_user_id=actor_user_id,
        actor_api_key_id=actor_api_key_id,
        created_after=created_after,
        created_before=created_before,
        matches_nothing=matches_nothing,
    )


@strawberry.type
class AuditQuery:
    @strawberry.field(
        permission_classes=[requires(Permission.AUDIT_READ)],
        description=(
            "Newest first (createdAt DESC). ADMIN and OWNER only (null otherwise, with a"
            " FORBIDDEN error)."
        ),
    )
    async def audit_logs(
        self,
        info: Info,
        *,
        first: int | None = strawberry.UNSET,
        after: str | None = strawberry.UNSET,
        last: int | None = strawberry.UNSET,
        before: str | None = strawberry.UNSET,
        filter: AuditLogFilter | None = strawberry.UNSET,
    ) -> Connection[AuditLog] | None:
        listing = service.audit_logs_listing(to_audit_filter(given(filter)))
        return await connection(
            Listed(info.context.db, listing),
            page_args(first, after, last, before),
            AuditLog.from_row,
        )
