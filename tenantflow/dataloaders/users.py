"""Users by id: global rows, visible only while they are members of the active tenant."""

from __future__ import annotations

import uuid
from collections.abc import Sequence

from sqlmodel import col, select
from strawberry.dataloader import DataLoader

from tenantflow.db.models import Membership, User
from tenantflow.db.session import SessionFactory


def users_loader(
    sessions: SessionFactory, tenant_id: uuid.UUID
) -> DataLoader[uuid.UUID, User | None]:
    async def load(ids: Sequence[uuid.UUID]) -> list[User | None]:
        # Joined with the tenant's memberships: a former member's user is not shown.
        statement = (
            select(User)
            .join(Membership, col(Membership.user_id) == col(User.id))
            .where(col(User.id).in_(list(ids)))
        )
        async with sessions.tenant_reader(tenant_id) as session:
            found = {user.id: user for user in (await session.exec(statement)).all()}
        return [found.get(user_id) for user_id in ids]

    return DataLoader(load_fn=load)
