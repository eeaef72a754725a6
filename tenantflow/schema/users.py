"""The User type, shared by every domain that points at a person."""

from __future__ import annotations

import uuid
from datetime import datetime

import strawberry

from tenantflow.auth.permissions import Permission
from tenantflow.context import Info
from tenantflow.db import models
from tenantflow.schema.ids import to_global_id
from tenantflow.schema.node import Node, register_node


@strawberry.type
class User(Node):
    email: str
    name: str | None
    created_at: datetime

    @classmethod
    def from_row(cls, row: models.User) -> User:
        return cls(
            id=to_global_id("User", row.id),
            email=row.email,
            name=row.name,
            created_at=row.created_at,
        )


async def load_user(info: Info, user_id: uuid.UUID | None) -> User | None:
    """The user while a member of the active tenant; otherwise None, as if it did not exist."""
    if user_id is None:
        return None
    row = await info.context.loaders.identity.users.load(user_id)
    return User.from_row(row) if row else None


register_node("User", Permission.MEMBER_READ, load_user)
