"""Role escalation, tried by each role (members and API keys): raising one's own role, making an
API key or an invitation above it, demoting or removing the owner, switching into another
tenant, giving oneself ENTERPRISE. Every attempt is refused and nothing changed.
(tests/api/test_permissions.py pins what each role may do, field by field.)"""

from __future__ import annotations

import uuid
from typing import Any

import pytest

from tenantflow.enums import Plan, Role
from tenantflow.schema.ids import to_global_id
from tests.api.conftest import Members
from tests.hostile.conftest import Pair

RANK = [Role.VIEWER, Role.EDITOR, Role.ADMIN, Role.OWNER]
RESULT = "__typename ... on Error { message }"
UPDATE_ROLE = f"""
mutation($id: ID!, $role: Role!) {{ updateMemberRole(userId: $id, role: $role) {{ {RESULT} }} }}
"""
REMOVE = f"mutation($id: ID!) {{ removeMember(userId: $id) {{ {RESULT} }} }}"
CREATE_KEY = f"""
mutation($input: CreateApiKeyInput!) {{
  createApiKey(input: $input) {{ {RESULT} ... on CreateApiKeyPayload {{ secret }} }} }}
"""
INVITE = f"mutation($input: InviteMemberInput!) {{ inviteMember(input: $input) {{ {RESULT} }} }}"
SWITCH = f"mutation($id: ID!) {{ switchTenant(tenantId: $id) {{ {RESULT} }} }}"
CREATE_TENANT = f"""
mutation($input: CreateTenantInput!) {{
  createTenant(input: $input) {{ {RESULT} ... on TenantPayload {{ tenant {{ plan }} }} }} }}
"""
STATE = """
{ tenant { plan members { edges { node { role user { id } } } }
           invitations { edges { node { role } } } }
  apiKeys { edges { node { role } } } }
"""
PRINCIPALS = [
    *[pytest.param("member", role, id=f"member-{role.value}") for role in RANK[:3]],
    *[pytest.param("key", role, id=f"key-{role.value}") for role in RANK[:3]],
]


async def ok(pair: Pair, query: str, variables: dict[str, Any], token: str) -> dict[str, Any]:
    _, body = await pair.api.post(query, variables, token=token)
    assert "errors" not in body, body
    data: dict[str, Any] = body["data"]
    return data


@pytest.mark.parametrize(("kind", "role"), PRINCIPALS)
async def test_no_role_can_raise_itself_or_unseat_the_owner(
    pair: Pair, members: Members, kind: str, role: Role
) -> None:
    # given a STARTER tenant (room for keys and invitations) with its owner and the attacker
    owner = await members.tenant(plan=Plan.STARTER)
    token, user_id = "", None
    if kind == "member":
        attacker = await members.member(owner.tenant_id, role=role)
        token, user_id = attacker.token, attacker.user_id
    else:
        made = await ok(pair, CREATE_KEY, {"input": {"name": "k", "role": role.value}}, owner.token)
        token = made["createApiKey"]["secret"]
    before = await ok(pair, STATE, {}, owner.token)
    higher = RANK[RANK.index(role) + 1 :]
    owner_id = to_global_id("User", owner.user_id)
    attempts: list[tuple[str, str, dict[str, Any]]] = [
        ("demote the owner", UPDATE_ROLE, {"id": owner_id, "role": role.value}),
        ("remove the owner", REMOVE, {"id": owner_id}),
        ("switch to another tenant", SWITCH, {"id": to_global_id("Tenant", pair.b.tenant_id)}),
    ]
    for above in higher:
        attempts += [
            (f"key as {above}", CREATE_KEY, {"input": {"name": "up", "role": above.value}}),
            (
                f"invite as {above}",
                INVITE,
                {
                    "input": {
                        "email": f"up-{uuid.uuid4().hex[:8]}@example.test",
                        "role": above.value,
                    }
                },
            ),
        ]
        if user_id is not None:
            self_id = to_global_id("User", user_id)
            attempts.append((f"self to {above}", UPDATE_ROLE, {"id": self_id, "role": above.value}))
    # when
    for what, query, variables in attempts:
        data = await ok(pair, query, variables, token)
        answer = next(iter(data.values()))
        # then each is refused as data: an error member, never a payload
        assert not answer["__typename"].endswith("Payload"), (what, answer)
    enterprise = {"name": "Mine", "slug": f"mine-{uuid.uuid4().hex[:8]}", "plan": "ENTERPRISE"}
    data = await ok(pair, CREATE_TENANT, {"input": enterprise}, token)
    assert data["createTenant"].get("tenant", {}).get("plan") != "ENTERPRISE", data
    # and nothing changed
    assert await ok(pair, STATE, {}, owner.token) == before
