"""Helpers shared by the API tests of identity, members, API keys, tenants and modules (no tests
here): the sign-in operations, signing up through the API, and reading what the database kept."""

from __future__ import annotations

import uuid
from typing import Any

from sqlmodel import col, select

from tenantflow.db import models
from tenantflow.db.session import SessionFactory
from tenantflow.schema.ids import parse_global_id
from tests.api.conftest import GraphQLClient

PASSWORD = "correct horse battery"
OTHER_PASSWORD = "another long password"

# Selections of the error members every result union of these domains has, or the interface.
ERROR_FIELDS = """
    ... on Error { message }
    ... on PermissionDeniedError { requiredPermission }
"""
VALIDATION_FIELDS = "... on ValidationError { fields { field message } }"
AUTH_FIELDS = f"""
    __typename
    ... on AuthPayload {{
      accessToken refreshToken expiresIn
      viewer {{
        role permissions
        user {{ id email name }}
        tenant {{ id name slug plan status trialEndsAt }}
        memberships {{ tenantId tenantName tenantSlug role }}
      }}
    }}
    {ERROR_FIELDS}
    {VALIDATION_FIELDS}
"""
SIGN_UP = f"mutation($input: SignUpInput!) {{ signUp(input: $input) {{ {AUTH_FIELDS} }} }}"
LOG_IN = f"mutation($input: LogInInput!) {{ logIn(input: $input) {{ {AUTH_FIELDS} }} }}"
REFRESH = f"mutation($token: String!) {{ refreshToken(refreshToken: $token) {{ {AUTH_FIELDS} }} }}"
LOG_OUT = "mutation($token: String!) { logOut(refreshToken: $token) }"
SWITCH = f"mutation($id: ID!) {{ switchTenant(tenantId: $id) {{ {AUTH_FIELDS} }} }}"
ACCEPT = f"mutation($token: String!) {{ acceptInvitation(token: $token) {{ {AUTH_FIELDS} }} }}"
CHANGE_PASSWORD = f"""
mutation($current: String!, $new: String!) {{
  changePassword(currentPassword: $current, newPassword: $new) {{ {AUTH_FIELDS} }}
}}
"""
VIEWER = """
{ viewer {
    role permissions
    user { id email }
    apiKey { id name role }
    tenant { id slug status }
    memberships { tenantId tenantName tenantSlug role }
} }
"""
TENANT_ID = "{ tenant { id } }"


def key_of(global_id: str) -> uuid.UUID:
    parsed = parse_global_id(global_id)
    assert parsed is not None, global_id
    return uuid.UUID(parsed[1])


def new_email() -> str:
    return f"person-{uuid.uuid4().hex[:10]}@example.test"


def new_slug() -> str:
    return f"t-{uuid.uuid4().hex[:12]}"


def sign_up_input(**overrides: Any) -> dict[str, Any]:
    values: dict[str, Any] = {
        "email": new_email(),
        "password": PASSWORD,
        "name": "Pat Example",
        "tenantName": "Example Ltd",
        "tenantSlug": new_slug(),
    }
    values.update(overrides)
    return values


async def signed_up(gql: GraphQLClient, **overrides: Any) -> dict[str, Any]:
    """An AuthPayload of a successful signUp."""
    data = await gql.ok(SIGN_UP, {"input": sign_up_input(**overrides)})
    payload: dict[str, Any] = data["signUp"]
    assert payload["__typename"] == "AuthPayload", payload
    return payload


async def logged_in(gql: GraphQLClient, email: str, **overrides: Any) -> dict[str, Any]:
    data = await gql.ok(LOG_IN, {"input": {"email": email, "password": PASSWORD, **overrides}})
    payload: dict[str, Any] = data["logIn"]
    assert payload["__typename"] == "AuthPayload", payload
    return payload


async def is_signed_in(gql: GraphQLClient, token: str) -> bool:
    """Whether `token` authenticates a request (a refused one is UNAUTHENTICATED)."""
    body = await gql.execute(TENANT_ID, token=token)
    if "errors" in body:
        assert [e["extensions"]["code"] for e in body["errors"]] == ["UNAUTHENTICATED"], body
        return False
    return True


async def audit_rows(
    sessions: SessionFactory, tenant_id: uuid.UUID, action: str | None = None
) -> list[models.AuditLog]:
    """The tenant's audit rows (of one action), oldest first."""
    statement = select(models.AuditLog).order_by(col(models.AuditLog.created_at))
    if action is not None:
        statement = statement.where(col(models.AuditLog.action) == action)
    async with sessions.tenant_reader(tenant_id) as session:
        return list((await session.exec(statement)).all())
