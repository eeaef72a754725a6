"""The GraphQL view of this application: authenticates websockets at connection_init."""

from __future__ import annotations

from strawberry.exceptions import ConnectionRejectionError
from strawberry.types.unset import UNSET, UnsetType

from tenantflow.context import Context
from tenantflow.dataloaders import DataLoaders
from tenantflow.web.graphql_view import GraphQLView


class AuthenticatingGraphQLView(GraphQLView[Context]):
    async def on_ws_connect(self, context: Context) -> UnsetType | dict[str, object] | None:
        """`{"authorization": "Bearer ..."}` in the init payload; anything else closes with 4403."""
        params = context.connection_params
        authorization = params.get("authorization") if isinstance(params, dict) else None
        principal = await context.runtime.credentials.resolve(
            authorization if isinstance(authorization, str) else None
        )
        if principal is None:
            raise ConnectionRejectionError()
        context.principal = principal
        context.loaders = DataLoaders.create(context.sessions, principal.tenant_id)
        acknowledged: UnsetType = UNSET
        return acknowledged
