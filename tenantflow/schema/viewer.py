"""The viewer: who the request's credentials say it is."""

from __future__ import annotations

import strawberry

from tenantflow.context import Info
from tenantflow.enums import Role
from tenantflow.schema import enums as _registered  # noqa: F401  (GraphQL enum names)


@strawberry.type
class Viewer:
    role: Role = strawberry.field(description="The viewer's role in the active tenant.")
    permissions: list[str] = strawberry.field(
        description="Permission strings of the viewer in the active tenant, e.g. workflow:write."
    )


@strawberry.type
class IdentityQuery:
    @strawberry.field(description="null when the request carries no valid credentials.")
    def viewer(self, info: Info) -> Viewer | None:
        # Credentials are not read yet: every request is anonymous until identity lands.
        return None
