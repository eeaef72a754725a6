"""Provider keys: createProviderKey, revokeProviderKey, providerKeys, node(), and the executor's
decrypt helper; roles, quotas, suspension, and what another tenant can learn."""

from __future__ import annotations

import base64
import json
import uuid
from typing import Any

import pytest
from sqlmodel import col, select

from tenantflow.auth.principal import Principal
from tenantflow.auth.secrets import api_key_prefix, hash_token, new_api_key
from tenantflow.db import models
from tenantflow.db.session import SessionFactory
from tenantflow.enums import Plan, Role, TenantStatus
from tenantflow.schema.ids import to_global_id
from tenantflow.secrets.envelope import KeyUnavailableError, MasterKeyring
from tenantflow.services.actor import Actor
from tenantflow.services.errors import NotFound, ValidationFailed
from tenantflow.services.operations.data_keys import open_data_key
from tenantflow.services.operations.provider_keys import (
    ProviderKeyRevoked,
    create_provider_key,
    use_provider_key,
)
from tenantflow.settings import Settings
from tests.api.conftest import GraphQLClient, Member, Members, error_codes
from tests.concurrency import together

SECRET = "sk-proj-Zq8rT2vW9yB4nM6kL1pX3sD5fG7hJ0aC9f2c"
MASK = "sk-proj-\u20269f2c"

KEY_FIELDS = "id provider name maskedKey isActive createdAt lastUsedAt revokedAt"
CREATE = f"""
mutation($input: CreateProviderKeyInput!) {{
  createProviderKey(input: $input) {{
    __typename
    ... on ProviderKeyPayload {{ providerKey {{ {KEY_FIELDS} }} }}
    ... on Error {{ message }}
    ... on ValidationError {{ fields {{ field message }} }}
    ... on PermissionDeniedError {{ requiredPermission }}
    ... on QuotaExceededError {{ resource limit plan }}
  }}
}}
"""
REVOKE = f"""
mutation($id: ID!) {{
  revokeProviderKey(id: $id) {{
    __typename
    ... on ProviderKeyPayload {{ providerKey {{ {KEY_FIELDS} }} }}
    ... on Error {{ message }}
    ... on PermissionDeniedError {{ requiredPermission }}
  }}
}}
"""
LIST = """
query($first: Int, $after: String, $last: Int, $before: String) {
  providerKeys(first: $first, after: $after, last: $last, before: $before) {
    totalCount
    edges { cursor node { id name isActive } }
    pageInfo { hasNextPage hasPreviousPage startCursor endCursor }
  }
}
"""
NODE = """
query($id: ID!) {
  node(id: $id) { __typename id ... on ProviderKey { name maskedKey isActive } }
}
"""


def key_input(**overrides: str) -> dict[str, Any]:
    return {"input": {"provider": "openai", "name": "Production", "secret": SECRET, **overrides}}


async def create_key(gql: GraphQLClient, member: Member, **overrides: str) -> dict[str, Any]:
    data = await gql.ok(CREATE, key_input(**overrides), as_=member)
    result: dict[str, Any] = data["createProviderKey"]
    assert result["__typename"] == "ProviderKeyPayload", result
    key: dict[str, Any] = result["providerKey"]
    return key


def raw_id(global_id: str) -> uuid.UUID:
    decoded = base64.urlsafe_b64decode(global_id + "=" * (-len(global_id) % 4)).decode()
    return uuid.UUID(decoded.partition(":")[2])


async def audit_actions(sessions: SessionFactory, tenant_id: uuid.UUID) -> list[str]:
    async with sessions.tenant_reader(tenant_id) as session:
        rows = (
            await session.exec(select(models.AuditLog).order_by(col(models.AuditLog.created_at)))
        ).all()
    return [row.action for row in rows]


async def stored_keys(sessions: SessionFactory, tenant_id: uuid.UUID) -> list[models.ProviderKey]:
    async with sessions.tenant_reader(tenant_id) as session:
        return list((await session.exec(select(models.ProviderKey))).all())


def keyring(settings: Settings) -> MasterKeyring:
    return MasterKeyring(settings.master_keys)


async def use(
    sessions: SessionFactory, settings: Settings, member: Member, key_id: uuid.UUID
) -> str:
    return await use_provider_key(
        db=sessions.for_tenant(member.tenant_id),
        keyring=keyring(settings),
        key_id=key_id,
        user_id=member.user_id,
        details={"executionId": "e-1", "nodeId": "call"},
    )


async def set_status(sessions: SessionFactory, tenant_id: uuid.UUID, status: TenantStatus) -> None:
    async with sessions.global_transaction() as session:
        tenant = await session.get(models.Tenant, tenant_id)
        assert tenant is not None
        tenant.status = status
        session.add(tenant)


# ---------------------------------------------------------------- create


@pytest.mark.parametrize("role", [Role.OWNER, Role.ADMIN])
async def test_admins_store_a_key_and_get_back_only_its_mask(
    gql: GraphQLClient, members: Members, sessions: SessionFactory, settings: Settings, role: Role
) -> None:
    # given
    owner = await members.tenant()
    member = owner if role is Role.OWNER else await members.member(owner.tenant_id, role=role)
    # when
    key = await create_key(gql, member)
    # then
    assert key["provider"] == "openai"
    assert key["name"] == "Production"
    assert key["maskedKey"] == MASK
    assert key["isActive"] is True
    assert key["lastUsedAt"] is None
    assert key["revokedAt"] is None
    assert key["createdAt"].endswith("+00:00")
    [row] = await stored_keys(sessions, owner.tenant_id)
    assert to_global_id("ProviderKey", row.id) == key["id"]
    assert SECRET.encode() not in row.ciphertext
    assert SECRET[8:-4].encode() not in row.ciphertext
    # the secret comes back only through the executor's helper
    assert await use(sessions, settings, owner, row.id) == SECRET


async def test_the_tenant_data_key_is_made_once_and_wrapped_by_the_current_master_key(
    gql: GraphQLClient, members: Members, sessions: SessionFactory, settings: Settings
) -> None:
    a = await members.tenant(plan=Plan.STARTER)
    b = await members.tenant()
    for name in ("one", "two", "three"):
        await create_key(gql, a, name=name)
    await create_key(gql, b)
    data_keys = {}
    for tenant in (a, b):
        async with sessions.tenant_reader(tenant.tenant_id) as session:
            rows = (await session.exec(select(models.TenantDataKey))).all()
            assert len(rows) == 1
            assert rows[0].master_key_id == keyring(settings).current.key_id
            data_keys[tenant.tenant_id] = await open_data_key(
                session, keyring=keyring(settings), tenant_id=tenant.tenant_id
            )
    assert data_keys[a.tenant_id] != data_keys[b.tenant_id]


async def test_an_api_key_with_the_admin_role_stores_keys(
    gql: GraphQLClient, members: Members, sessions: SessionFactory
) -> None:
    owner = await members.tenant()
    token = new_api_key()
    async with sessions.tenant_transaction(owner.tenant_id) as session:
        session.add(
            models.ApiKey(
                name="ci",
                prefix=api_key_prefix(token),
                key_hash=hash_token(token),
                role=Role.ADMIN,
            )
        )
    data = await gql.ok(CREATE, key_input(), token=token)
    assert data["createProviderKey"]["__typename"] == "ProviderKeyPayload"
    listed = await gql.ok(LIST, token=token)
    assert listed["providerKeys"]["totalCount"] == 1


async def test_surrounding_whitespace_of_a_pasted_secret_is_dropped(
    gql: GraphQLClient, members: Members, sessions: SessionFactory, settings: Settings
) -> None:
    owner = await members.tenant()
    key = await create_key(gql, owner, secret=f"  {SECRET}\n", name="  Spaced  ")
    assert key["maskedKey"] == MASK
    assert key["name"] == "Spaced"
    assert await use(sessions, settings, owner, raw_id(key["id"])) == SECRET


@pytest.mark.parametrize(
    ("overrides", "fields"),
    [
        ({"provider": "OpenAI"}, ["input.provider"]),
        ({"provider": "open ai"}, ["input.provider"]),
        ({"provider": "-openai"}, ["input.provider"]),
        ({"provider": "open--ai"}, ["input.provider"]),
        ({"provider": ""}, ["input.provider"]),
        ({"provider": "a" * 51}, ["input.provider"]),
        ({"name": ""}, ["input.name"]),
        ({"name": "   "}, ["input.name"]),
        ({"name": "n" * 101}, ["input.name"]),
        ({"name": "line\nbreak"}, ["input.name"]),
        ({"secret": ""}, ["input.secret"]),
        ({"secret": " \t "}, ["input.secret"]),
        ({"secret": "s" * 4097}, ["input.secret"]),
        (
            {"provider": "Bad!", "name": "", "secret": ""},
            ["input.provider", "input.name", "input.secret"],
        ),
    ],
)
async def test_invalid_input_is_a_validation_error_and_writes_nothing(
    gql: GraphQLClient,
    members: Members,
    sessions: SessionFactory,
    overrides: dict[str, str],
    fields: list[str],
) -> None:
    owner = await members.tenant()
    data = await gql.ok(CREATE, key_input(**overrides), as_=owner)
    result = data["createProviderKey"]
    assert result["__typename"] == "ValidationError"
    assert [f["field"] for f in result["fields"]] == fields
    assert all(f["message"] for f in result["fields"])
    assert await stored_keys(sessions, owner.tenant_id) == []
    assert await audit_actions(sessions, owner.tenant_id) == []


async def test_limits_are_inclusive(gql: GraphQLClient, members: Members) -> None:
    owner = await members.tenant(plan=Plan.STARTER)
    key = await create_key(gql, owner, provider="p" * 50, name="n" * 100, secret="s" * 4096)
    assert (key["provider"], key["name"]) == ("p" * 50, "n" * 100)
    key = await create_key(gql, owner, provider="azure_open-ai2", name="x", secret="s")
    assert key["maskedKey"] == "\u2026"


async def test_a_secret_that_is_not_unicode_text_is_refused(
    gql: GraphQLClient, members: Members, sessions: SessionFactory, settings: Settings
) -> None:
    owner = await members.tenant()
    # A lone surrogate: the JSON decoder refuses the request before any resolver runs...
    body = json.dumps(key_input(secret="sk-\ud800-abcdefghijklmnop"))  # escaped as \ud800
    response = await gql.http.post(
        "/graphql",
        content=f'{{"query": {json.dumps(CREATE)}, "variables": {body}}}',
        headers={**owner.headers, "content-type": "application/json"},
    )
    assert response.status_code == 400
    assert "abcdefghijklmnop" not in response.text
    # ...and the service refuses it too, should another transport let one through.
    principal = Principal(
        tenant_id=owner.tenant_id,
        role=Role.OWNER,
        tenant_status=TenantStatus.ACTIVE,
        plan=Plan.FREE,
        user_id=owner.user_id,
    )
    with pytest.raises(ValidationFailed) as caught:
        await create_provider_key(
            db=sessions.for_tenant(principal.tenant_id),
            keyring=keyring(settings),
            actor=Actor(principal),
            provider="openai",
            name="x",
            secret="sk-\ud800-abcdefghijklmnop",
        )
    assert [p.field for p in caught.value.problems] == ["input.secret"]
    assert "abcdefghijklmnop" not in str(caught.value.problems)
    assert await stored_keys(sessions, owner.tenant_id) == []


@pytest.mark.parametrize("role", [Role.EDITOR, Role.VIEWER])
async def test_editors_and_viewers_can_neither_manage_nor_list_keys(
    gql: GraphQLClient, members: Members, sessions: SessionFactory, role: Role
) -> None:
    owner = await members.tenant()
    key = await create_key(gql, owner)
    member = await members.member(owner.tenant_id, role=role)

    created = (await gql.ok(CREATE, key_input(), as_=member))["createProviderKey"]
    assert created["__typename"] == "PermissionDeniedError"
    assert created["requiredPermission"] == "provider_key:manage"

    revoked = (await gql.ok(REVOKE, {"id": key["id"]}, as_=member))["revokeProviderKey"]
    assert revoked["__typename"] == "PermissionDeniedError"
    assert revoked["requiredPermission"] == "provider_key:manage"

    listed = await gql.execute(LIST, as_=member)
    assert listed["data"] == {"providerKeys": None}
    assert error_codes(listed) == ["FORBIDDEN"]

    node = await gql.execute(NODE, {"id": key["id"]}, as_=member)
    assert node["data"] == {"node": None}
    assert error_codes(node) == ["FORBIDDEN"]

    [row] = await stored_keys(sessions, owner.tenant_id)
    assert row.is_active
    assert await audit_actions(sessions, owner.tenant_id) == ["provider_key.create"]


async def test_without_credentials_nothing_runs(gql: GraphQLClient) -> None:
    for operation, variables in ((CREATE, key_input()), (LIST, {})):
        body = await gql.execute(operation, variables)
        assert error_codes(body) == ["UNAUTHENTICATED"]


# ---------------------------------------------------------------- quota


async def test_the_plan_limits_active_keys_and_revoked_ones_free_a_slot(
    gql: GraphQLClient, members: Members, sessions: SessionFactory
) -> None:
    # given: FREE allows 3
    owner = await members.tenant(plan=Plan.FREE)
    keys = [await create_key(gql, owner, name=f"k{n}") for n in range(3)]
    # when
    refused = (await gql.ok(CREATE, key_input(name="fourth"), as_=owner))["createProviderKey"]
    # then
    assert refused["__typename"] == "QuotaExceededError"
    assert (refused["resource"], refused["limit"], refused["plan"]) == ("providerKeys", 3, "FREE")
    assert len(await stored_keys(sessions, owner.tenant_id)) == 3
    assert (await audit_actions(sessions, owner.tenant_id)).count("provider_key.create") == 3
    # a revoked key no longer counts
    await gql.ok(REVOKE, {"id": keys[0]["id"]}, as_=owner)
    await create_key(gql, owner, name="fourth")
    assert len(await stored_keys(sessions, owner.tenant_id)) == 4


async def test_concurrent_creates_cannot_both_take_the_last_slot(
    gql: GraphQLClient, members: Members, sessions: SessionFactory
) -> None:
    owner = await members.tenant(plan=Plan.FREE)
    for n in range(2):
        await create_key(gql, owner, name=f"k{n}")
    results = await together(
        *(gql.ok(CREATE, key_input(name=f"race{n}"), as_=owner) for n in range(6))
    )
    kinds = sorted(r["createProviderKey"]["__typename"] for r in results)
    assert kinds == ["ProviderKeyPayload"] + ["QuotaExceededError"] * 5
    rows = await stored_keys(sessions, owner.tenant_id)
    assert len(rows) == 3
    assert (await audit_actions(sessions, owner.tenant_id)).count("provider_key.create") == 3
    async with sessions.tenant_reader(owner.tenant_id) as session:
        assert len((await session.exec(select(models.TenantDataKey))).all()) == 1


async def test_concurrent_first_keys_of_a_tenant_share_one_data_key(
    gql: GraphQLClient, members: Members, sessions: SessionFactory, settings: Settings
) -> None:
    owner = await members.tenant(plan=Plan.PRO)
    await together(*(create_key(gql, owner, name=f"k{n}") for n in range(5)))
    rows = await stored_keys(sessions, owner.tenant_id)
    assert len(rows) == 5
    for row in rows:
        assert await use(sessions, settings, owner, row.id) == SECRET


# ---------------------------------------------------------------- revoke


async def test_revoking_deactivates_the_key_once(
    gql: GraphQLClient, members: Members, sessions: SessionFactory, settings: Settings
) -> None:
    owner = await members.tenant()
    key = await create_key(gql, owner)

    first = (await gql.ok(REVOKE, {"id": key["id"]}, as_=owner))["revokeProviderKey"]
    assert first["__typename"] == "ProviderKeyPayload"
    revoked = first["providerKey"]
    assert revoked["id"] == key["id"]
    assert revoked["isActive"] is False
    assert revoked["revokedAt"] is not None
    assert revoked["maskedKey"] == MASK

    # idempotent: the same answer, nothing changed, no second audit row
    again = (await gql.ok(REVOKE, {"id": key["id"]}, as_=owner))["revokeProviderKey"]
    assert again == first
    assert await audit_actions(sessions, owner.tenant_id) == [
        "provider_key.create",
        "provider_key.revoke",
    ]
    # still listed, as inactive
    listed = (await gql.ok(LIST, as_=owner))["providerKeys"]
    assert [e["node"] for e in listed["edges"]] == [
        {"id": key["id"], "name": "Production", "isActive": False}
    ]
    # and its secret is no longer handed out
    with pytest.raises(ProviderKeyRevoked):
        await use(sessions, settings, owner, raw_id(key["id"]))


async def test_a_suspended_tenant_may_revoke_but_not_create(
    gql: GraphQLClient, members: Members, sessions: SessionFactory
) -> None:
    owner = await members.tenant()
    key = await create_key(gql, owner)
    await set_status(sessions, owner.tenant_id, TenantStatus.SUSPENDED)

    created = (await gql.ok(CREATE, key_input(name="new"), as_=owner))["createProviderKey"]
    assert created["__typename"] == "TenantSuspendedError"
    assert created["message"]

    revoked = (await gql.ok(REVOKE, {"id": key["id"]}, as_=owner))["revokeProviderKey"]
    assert revoked["__typename"] == "ProviderKeyPayload"
    assert revoked["providerKey"]["isActive"] is False
    # reads still work
    listed = (await gql.ok(LIST, as_=owner))["providerKeys"]
    assert listed["totalCount"] == 1


async def test_the_keys_of_a_deleted_tenant_are_never_handed_out(
    gql: GraphQLClient, members: Members, sessions: SessionFactory, settings: Settings
) -> None:
    owner = await members.tenant()
    key = await create_key(gql, owner)
    await set_status(sessions, owner.tenant_id, TenantStatus.DELETED)
    with pytest.raises(NotFound):
        await use(sessions, settings, owner, raw_id(key["id"]))
    assert await audit_actions(sessions, owner.tenant_id) == ["provider_key.create"]


async def test_unknown_malformed_and_mistyped_ids_are_not_found(
    gql: GraphQLClient, members: Members
) -> None:
    owner = await members.tenant()
    key = await create_key(gql, owner)
    messages = set()
    for global_id in (
        to_global_id("ProviderKey", uuid.uuid4()),
        to_global_id("User", raw_id(key["id"])),  # the right key under another type
        "not an id",
        base64.b64encode(b"ProviderKey:nope").decode(),
    ):
        result = (await gql.ok(REVOKE, {"id": global_id}, as_=owner))["revokeProviderKey"]
        assert result["__typename"] == "NotFoundError", global_id
        messages.add(result["message"])
    assert messages == {"ProviderKey not found"}


# ---------------------------------------------------------------- reading


async def test_keys_are_listed_newest_first_in_pages(gql: GraphQLClient, members: Members) -> None:
    owner = await members.tenant(plan=Plan.STARTER)
    created = [await create_key(gql, owner, name=f"k{n}") for n in range(5)]
    newest_first = [k["id"] for k in reversed(created)]

    page = (await gql.ok(LIST, {"first": 2}, as_=owner))["providerKeys"]
    assert page["totalCount"] == 5
    assert [e["node"]["id"] for e in page["edges"]] == newest_first[:2]
    assert page["pageInfo"]["hasNextPage"] is True
    rest = (await gql.ok(LIST, {"first": 10, "after": page["pageInfo"]["endCursor"]}, as_=owner))[
        "providerKeys"
    ]
    assert [e["node"]["id"] for e in rest["edges"]] == newest_first[2:]
    assert rest["pageInfo"]["hasNextPage"] is False
    assert rest["pageInfo"]["hasPreviousPage"] is True

    tail = (await gql.ok(LIST, {"last": 2}, as_=owner))["providerKeys"]
    assert [e["node"]["id"] for e in tail["edges"]] == newest_first[3:]
    before = (
        await gql.ok(LIST, {"last": 2, "before": tail["pageInfo"]["startCursor"]}, as_=owner)
    )["providerKeys"]
    assert [e["node"]["id"] for e in before["edges"]] == newest_first[1:3]

    too_many = await gql.execute(LIST, {"first": 101}, as_=owner)
    assert error_codes(too_many) == ["BAD_USER_INPUT"]


async def test_node_resolves_a_key_of_the_tenant(gql: GraphQLClient, members: Members) -> None:
    owner = await members.tenant()
    admin = await members.member(owner.tenant_id, role=Role.ADMIN)
    key = await create_key(gql, owner)
    data = await gql.ok(NODE, {"id": key["id"]}, as_=admin)
    assert data["node"] == {
        "__typename": "ProviderKey",
        "id": key["id"],
        "name": "Production",
        "maskedKey": MASK,
        "isActive": True,
    }


# ---------------------------------------------------------------- the executor's helper


async def test_each_use_decrypts_audits_and_touches_last_used(
    gql: GraphQLClient, members: Members, sessions: SessionFactory, settings: Settings
) -> None:
    owner = await members.tenant()
    key = await create_key(gql, owner)
    key_id = raw_id(key["id"])

    assert await use(sessions, settings, owner, key_id) == SECRET
    assert await use(sessions, settings, owner, key_id) == SECRET

    node = (
        await gql.ok(NODE.replace("isActive", "isActive lastUsedAt"), {"id": key["id"]}, as_=owner)
    )["node"]
    assert node["lastUsedAt"] is not None
    async with sessions.tenant_reader(owner.tenant_id) as session:
        uses = (
            await session.exec(
                select(models.AuditLog).where(col(models.AuditLog.action) == "provider_key.use")
            )
        ).all()
    assert len(uses) == 2
    for row in uses:
        assert row.resource_type == "ProviderKey"
        assert row.resource_id == str(key_id)
        assert row.actor_user_id == owner.user_id
        assert row.details == {
            "provider": "openai",
            "name": "Production",
            "executionId": "e-1",
            "nodeId": "call",
        }


async def test_a_use_that_cannot_decrypt_changes_nothing(
    gql: GraphQLClient, members: Members, sessions: SessionFactory
) -> None:
    owner = await members.tenant()
    key = await create_key(gql, owner)
    stranger = MasterKeyring(["an-entirely-different-master-key-" + "z" * 32])
    with pytest.raises(KeyUnavailableError) as caught:
        await use_provider_key(
            db=sessions.for_tenant(owner.tenant_id),
            keyring=stranger,
            key_id=raw_id(key["id"]),
        )
    assert SECRET not in str(caught.value)
    [row] = await stored_keys(sessions, owner.tenant_id)
    assert row.last_used_at is None
    assert await audit_actions(sessions, owner.tenant_id) == ["provider_key.create"]


# ---------------------------------------------------------------- isolation


async def test_another_tenant_cannot_see_use_or_revoke_a_key(
    gql: GraphQLClient, members: Members, sessions: SessionFactory, settings: Settings
) -> None:
    # given: B has a key; A has one too, so that A's list is not trivially empty
    a = await members.tenant()
    b = await members.tenant()
    a_key = await create_key(gql, a, name="mine")
    b_key = await create_key(gql, b, name="theirs")

    # A's list shows A's key only
    listed = (await gql.ok(LIST, as_=a))["providerKeys"]
    assert listed["totalCount"] == 1
    assert [e["node"]["id"] for e in listed["edges"]] == [a_key["id"]]

    # node() on B's id is null, exactly like an unknown id
    assert (await gql.ok(NODE, {"id": b_key["id"]}, as_=a))["node"] is None

    # revoking B's key answers exactly like an id that does not exist, and changes nothing
    foreign = (await gql.ok(REVOKE, {"id": b_key["id"]}, as_=a))["revokeProviderKey"]
    unknown = (await gql.ok(REVOKE, {"id": to_global_id("ProviderKey", uuid.uuid4())}, as_=a))[
        "revokeProviderKey"
    ]
    assert foreign == unknown == {"__typename": "NotFoundError", "message": "ProviderKey not found"}
    [b_row] = await stored_keys(sessions, b.tenant_id)
    assert b_row.is_active

    # the executor's helper, asked for B's key in A's tenant, finds nothing
    with pytest.raises(NotFound):
        await use(sessions, settings, a, raw_id(b_key["id"]))
    assert b_row.last_used_at is None

    # a cursor is no way in either: A's page after B's cursor still shows only A's keys
    b_page = (await gql.ok(LIST, as_=b))["providerKeys"]
    cursor = b_page["edges"][0]["cursor"]
    crossed = (await gql.ok(LIST, {"first": 5, "before": cursor}, as_=a))["providerKeys"]
    assert {e["node"]["id"] for e in crossed["edges"]} <= {a_key["id"]}

    # nothing of B's reached A's audit trail, and B's trail has no trace of A's attempts
    assert await audit_actions(sessions, a.tenant_id) == ["provider_key.create"]
    assert await audit_actions(sessions, b.tenant_id) == ["provider_key.create"]
