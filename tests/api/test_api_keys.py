"""API keys: created with a secret shown once, acting with their role, revoked at once."""

from __future__ import annotations

import hashlib
from typing import Any

from sqlmodel import select

from tenantflow.db import models
from tenantflow.db.session import SessionFactory
from tenantflow.enums import Role
from tenantflow.schema.ids import to_global_id
from tests.api.auth_helpers import (
    ERROR_FIELDS,
    VALIDATION_FIELDS,
    audit_rows,
    is_signed_in,
    key_of,
)
from tests.api.conftest import GraphQLClient, Member, Members, error_codes

API_KEY_FIELDS = "id name prefix role createdAt lastUsedAt revokedAt"
CREATE = f"""
mutation($input: CreateApiKeyInput!) {{
  createApiKey(input: $input) {{
    __typename
    ... on CreateApiKeyPayload {{ secret apiKey {{ {API_KEY_FIELDS} }} }}
    {ERROR_FIELDS}
    {VALIDATION_FIELDS}
  }}
}}
"""
REVOKE = f"""
mutation($id: ID!) {{
  revokeApiKey(id: $id) {{
    __typename ... on ApiKeyPayload {{ apiKey {{ {API_KEY_FIELDS} }} }} {ERROR_FIELDS}
  }}
}}
"""
LIST = f"{{ apiKeys {{ totalCount edges {{ node {{ {API_KEY_FIELDS} }} }} }} }}"
NODE = "query($id: ID!) { node(id: $id) { id ... on ApiKey { name } } }"


async def create(
    gql: GraphQLClient, member: Member, name: str = "ci", role: str = "EDITOR"
) -> dict[str, Any]:
    data = await gql.ok(CREATE, {"input": {"name": name, "role": role}}, as_=member)
    payload: dict[str, Any] = data["createApiKey"]
    return payload


async def test_a_key_is_shown_once_and_stored_as_a_hash(
    gql: GraphQLClient, members: Members, sessions: SessionFactory
) -> None:
    # given
    admin = await members.tenant(role=Role.ADMIN)
    # when
    created = await create(gql, admin, "deploy bot", "EDITOR")
    # then
    secret = created["secret"]
    key = created["apiKey"]
    assert secret.startswith("tfk_")
    assert len(secret) == 47
    assert key["prefix"] == secret[:12]
    assert (key["name"], key["role"], key["lastUsedAt"], key["revokedAt"]) == (
        "deploy bot",
        "EDITOR",
        None,
        None,
    )
    async with sessions.tenant_reader(admin.tenant_id) as db:
        row = (await db.exec(select(models.ApiKey))).one()
    assert row.key_hash == hashlib.sha256(secret.encode()).hexdigest()
    listed = await gql.ok(LIST, as_=admin)
    assert secret not in str(listed)
    rows = await audit_rows(sessions, admin.tenant_id, "api_key.create")
    assert [r.details for r in rows] == [
        {"name": "deploy bot", "role": "EDITOR", "prefix": secret[:12]}
    ]


async def test_a_key_acts_with_its_own_role(gql: GraphQLClient, members: Members) -> None:
    owner = await members.tenant()
    viewer_key = (await create(gql, owner, role="VIEWER"))["secret"]
    admin_key = (await create(gql, owner, role="ADMIN"))["secret"]
    # a VIEWER key reads, and may not manage keys
    assert await is_signed_in(gql, viewer_key)
    refused = await gql.ok(CREATE, {"input": {"name": "x", "role": "VIEWER"}}, token=viewer_key)
    assert refused["createApiKey"]["requiredPermission"] == "api_key:manage"
    body = await gql.execute(LIST, token=viewer_key)
    assert error_codes(body) == ["FORBIDDEN"]
    assert body["data"] == {"apiKeys": None}
    # an ADMIN key may
    listed = await gql.ok(LIST, token=admin_key)
    assert listed["apiKeys"]["totalCount"] == 2
    assert [n["node"]["lastUsedAt"] is not None for n in listed["apiKeys"]["edges"]] == [
        True,  # the ADMIN key, newest first, used just now
        True,
    ]


async def test_no_key_is_an_owner(gql: GraphQLClient, members: Members) -> None:
    owner = await members.tenant()
    refused = await create(gql, owner, name="  ", role="OWNER")
    assert refused["__typename"] == "ValidationError"
    assert {f["field"] for f in refused["fields"]} == {"input.name", "input.role"}


async def test_a_revoked_key_is_refused_at_once(
    gql: GraphQLClient, members: Members, sessions: SessionFactory
) -> None:
    # given
    admin = await members.tenant(role=Role.ADMIN)
    created = await create(gql, admin)
    assert await is_signed_in(gql, created["secret"])
    # when
    data = await gql.ok(REVOKE, {"id": created["apiKey"]["id"]}, as_=admin)
    # then
    revoked = data["revokeApiKey"]["apiKey"]
    assert revoked["revokedAt"] is not None
    assert not await is_signed_in(gql, created["secret"])
    # revoking again succeeds and changes nothing
    again = await gql.ok(REVOKE, {"id": created["apiKey"]["id"]}, as_=admin)
    assert again["revokeApiKey"]["apiKey"]["revokedAt"] == revoked["revokedAt"]
    assert len(await audit_rows(sessions, admin.tenant_id, "api_key.revoke")) == 1
    listed = await gql.ok(LIST, as_=admin)
    assert [e["node"]["revokedAt"] for e in listed["apiKeys"]["edges"]] == [revoked["revokedAt"]]


async def test_keys_list_newest_first(gql: GraphQLClient, members: Members) -> None:
    owner = await members.tenant()
    for name in ("first", "second", "third"):
        await create(gql, owner, name=name)
    page = await gql.ok("{ apiKeys(first: 2) { edges { node { name } } } }", as_=owner)
    assert [e["node"]["name"] for e in page["apiKeys"]["edges"]] == ["third", "second"]


async def test_another_tenants_keys_do_not_exist(gql: GraphQLClient, members: Members) -> None:
    # given
    a = await members.tenant()
    b = await members.tenant()
    b_key = await create(gql, b)
    b_key_id = b_key["apiKey"]["id"]
    # when / then
    for key_id in (b_key_id, to_global_id("ApiKey", a.tenant_id), "junk"):
        data = await gql.ok(REVOKE, {"id": key_id}, as_=a)
        assert data["revokeApiKey"] == {
            "__typename": "NotFoundError",
            "message": "ApiKey not found",
        }
    assert await gql.ok(NODE, {"id": b_key_id}, as_=a) == {"node": None}
    assert (await gql.ok(LIST, as_=a))["apiKeys"]["totalCount"] == 0
    assert await is_signed_in(gql, b_key["secret"])
    # and a key reads its own tenant only
    tenant = await gql.ok("{ tenant { id } }", token=b_key["secret"])
    assert key_of(tenant["tenant"]["id"]) == b.tenant_id
