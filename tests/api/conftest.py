"""API tests drive the application as a client would: GraphQL over HTTP with real tokens.

`members` makes tenants and members straight in the database and mints their access tokens with the
server's own codec, so each domain's tests need nothing from sign-up.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import Any

import httpx
import pytest

from tenantflow.auth.tokens import AccessTokenCodec
from tenantflow.db import models
from tenantflow.db.session import SessionFactory
from tenantflow.enums import Plan, Role, TenantStatus
from tenantflow.settings import Settings


@dataclass(frozen=True)
class Member:
    tenant_id: uuid.UUID
    user_id: uuid.UUID
    role: Role
    email: str
    token: str

    @property
    def headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token}"}


class GraphQLClient:
    """Posts operations; `ok` fails the test on any GraphQL error."""

    def __init__(self, http: httpx.AsyncClient) -> None:
        self.http = http

    async def execute(
        self,
        query: str,
        variables: dict[str, Any] | None = None,
        *,
        as_: Member | None = None,
        token: str | None = None,
    ) -> dict[str, Any]:
        headers = as_.headers if as_ else {}
        if token is not None:
            headers = {"Authorization": f"Bearer {token}"}
        response = await self.http.post(
            "/graphql", json={"query": query, "variables": variables or {}}, headers=headers
        )
        assert response.status_code == 200, response.text
        body: dict[str, Any] = response.json()
        return body

    async def ok(
        self,
        query: str,
        variables: dict[str, Any] | None = None,
        *,
        as_: Member | None = None,
        token: str | None = None,
    ) -> dict[str, Any]:
        body = await self.execute(query, variables, as_=as_, token=token)
        assert "errors" not in body, body["errors"]
        data: dict[str, Any] = body["data"]
        return data


def error_codes(body: dict[str, Any]) -> list[str]:
    return [error.get("extensions", {}).get("code") for error in body.get("errors", [])]


class Members:
    """Tenants and members made in the database, with real access tokens."""

    def __init__(self, sessions: SessionFactory, settings: Settings) -> None:
        self.sessions = sessions
        self.codec = AccessTokenCodec(settings.signing_key, ttl_seconds=settings.access_token_ttl)

    async def tenant(
        self,
        *,
        role: Role = Role.OWNER,
        plan: Plan = Plan.FREE,
        status: TenantStatus = TenantStatus.ACTIVE,
    ) -> Member:
        """A new tenant and its first member, with `role`."""
        tenant_id = uuid.uuid4()
        async with self.sessions.tenant_transaction(tenant_id) as session:
            session.add(
                models.Tenant(
                    id=tenant_id,
                    name=f"Tenant {tenant_id.hex[:6]}",
                    slug=f"t-{tenant_id.hex[:12]}",
                    plan=plan,
                    status=status,
                )
            )
        return await self.member(tenant_id, role=role)

    async def member(self, tenant_id: uuid.UUID, *, role: Role = Role.EDITOR) -> Member:
        """A new user who belongs to `tenant_id` with `role`, signed in."""
        email = f"user-{uuid.uuid4().hex[:10]}@example.test"
        async with self.sessions.global_transaction() as session:
            user = models.User(
                email=email, email_normalized=email, name="Test User", password_hash="x"
            )
            session.add(user)
        async with self.sessions.tenant_transaction(tenant_id) as session:
            session.add(models.Membership(user_id=user.id, role=role))
            family = models.RefreshTokenFamily(user_id=user.id)
            session.add(family)
        token, _ = self.codec.issue(user_id=user.id, tenant_id=tenant_id, session_id=family.id)
        return Member(tenant_id, user.id, role, email, token)


@pytest.fixture
def gql(client: httpx.AsyncClient) -> GraphQLClient:
    return GraphQLClient(client)


@pytest.fixture
def members(sessions: SessionFactory, settings: Settings) -> Members:
    return Members(sessions, settings)
