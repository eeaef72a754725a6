"""node(id:): malformed, foreign and wrong-type ids all act like ids that do not exist."""

from __future__ import annotations

import base64

from tenantflow.schema.ids import to_global_id
from tests.api.conftest import GraphQLClient, Members, error_codes

NODE = "query($id: ID!) { node(id: $id) { id __typename ... on User { email } } }"


async def test_node_resolves_a_member_of_the_tenant(gql: GraphQLClient, members: Members) -> None:
    owner = await members.tenant()
    colleague = await members.member(owner.tenant_id)
    user_id = to_global_id("User", colleague.user_id)
    data = await gql.ok(NODE, {"id": user_id}, as_=owner)
    assert data["node"] == {"id": user_id, "__typename": "User", "email": colleague.email}


async def test_foreign_malformed_and_mistyped_ids_resolve_to_null(
    gql: GraphQLClient, members: Members
) -> None:
    a = await members.tenant()
    b = await members.tenant()
    for global_id in (
        to_global_id("User", b.user_id),  # a user of another tenant
        to_global_id("Workflow", a.user_id),  # the right key under another type
        to_global_id("Nope", a.user_id),  # a type that does not exist
        "not base64 at all!",
        base64.b64encode(b"User:not-a-uuid").decode(),
        "",
    ):
        data = await gql.ok(NODE, {"id": global_id}, as_=a)
        assert data["node"] is None, global_id


async def test_node_needs_credentials(gql: GraphQLClient, members: Members) -> None:
    a = await members.tenant()
    body = await gql.execute(NODE, {"id": to_global_id("User", a.user_id)})
    assert body["data"] is None or body["data"]["node"] is None
    assert error_codes(body) == ["UNAUTHENTICATED"]
