"""The tenant: reading it, creating a further one, updating, deleting; trials and suspension."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import update
from sqlmodel import col

from tenantflow.db import models
from tenantflow.db.session import SessionFactory
from tenantflow.db.types import utcnow
from tenantflow.enums import Plan, Role, TenantStatus
from tenantflow.schema.ids import to_global_id
from tests.api.auth_helpers import (
    CHANGE_PASSWORD,
    ERROR_FIELDS,
    LOG_IN,
    LOG_OUT,
    OTHER_PASSWORD,
    PASSWORD,
    SWITCH,
    VALIDATION_FIELDS,
    audit_rows,
    is_signed_in,
    key_of,
    new_email,
    new_slug,
    signed_up,
)
from tests.api.conftest import GraphQLClient, Member, Members, error_codes

TENANT = """
{ tenant {
    id name slug plan status createdAt trialEndsAt
    settings { timezone locale currency companyEmail address logoUrl }
    usage {
      workflows executionsThisMonth deployments providerKeys members
      limits {
        workflows executionsPerMonth deployments providerKeys members requestsPerMinute
        costPerMinute
      }
    }
} }
"""
TENANT_FIELDS = """
    id name slug plan status trialEndsAt
    settings { timezone locale currency companyEmail address logoUrl }
"""
CREATE_TENANT = f"""
mutation($input: CreateTenantInput!) {{
  createTenant(input: $input) {{
    __typename ... on TenantPayload {{ tenant {{ {TENANT_FIELDS} }} }}
    {ERROR_FIELDS} {VALIDATION_FIELDS}
  }}
}}
"""
UPDATE_TENANT = f"""
mutation($input: UpdateTenantInput!) {{
  updateTenant(input: $input) {{
    __typename ... on TenantPayload {{ tenant {{ {TENANT_FIELDS} }} }}
    {ERROR_FIELDS} {VALIDATION_FIELDS}
  }}
}}
"""
DELETE_TENANT = f"""
mutation {{ deleteTenant {{ __typename ... on DeletedPayload {{ id }} {ERROR_FIELDS} }} }}
"""


async def update_tenant(gql: GraphQLClient, member: Member, **input: Any) -> dict[str, Any]:
    data = await gql.ok(UPDATE_TENANT, {"input": input}, as_=member)
    payload: dict[str, Any] = data["updateTenant"]
    return payload


async def test_the_active_tenant_with_its_settings_and_usage(
    gql: GraphQLClient, members: Members
) -> None:
    owner = await members.tenant(role=Role.VIEWER)
    data = await gql.ok(TENANT, as_=owner)
    tenant = data["tenant"]
    assert tenant["id"] == to_global_id("Tenant", owner.tenant_id)
    assert (tenant["plan"], tenant["status"], tenant["trialEndsAt"]) == ("FREE", "ACTIVE", None)
    assert tenant["settings"] == {
        "timezone": "UTC",
        "locale": "en-US",
        "currency": "USD",
        "companyEmail": None,
        "address": None,
        "logoUrl": None,
    }
    assert tenant["usage"] == {
        "workflows": 0,
        "executionsThisMonth": 0,
        "deployments": 0,
        "providerKeys": 0,
        "members": 1,
        "limits": {
            "workflows": 5,
            "executionsPerMonth": 1000,
            "deployments": 2,
            "providerKeys": 3,
            "members": 3,
            "requestsPerMinute": 60,
            "costPerMinute": 6000,
        },
    }
    node = await gql.ok("query($id: ID!) { node(id: $id) { id } }", {"id": tenant["id"]}, as_=owner)
    assert node == {"node": {"id": tenant["id"]}}


async def test_enterprise_limits_are_unlimited_but_rates(
    gql: GraphQLClient, members: Members
) -> None:
    owner = await members.tenant(plan=Plan.ENTERPRISE)
    limits = (await gql.ok(TENANT, as_=owner))["tenant"]["usage"]["limits"]
    assert limits == {
        "workflows": None,
        "executionsPerMonth": None,
        "deployments": None,
        "providerKeys": None,
        "members": None,
        "requestsPerMinute": 10000,
        "costPerMinute": 1000000,
    }


async def test_another_tenant_is_not_a_node(gql: GraphQLClient, members: Members) -> None:
    a = await members.tenant()
    b = await members.tenant()
    data = await gql.ok(
        "query($id: ID!) { node(id: $id) { id } }",
        {"id": to_global_id("Tenant", b.tenant_id)},
        as_=a,
    )
    assert data == {"node": None}


# -- createTenant ------------------------------------------------------------------------------


async def test_a_user_creates_a_further_tenant_and_owns_it(
    gql: GraphQLClient, sessions: SessionFactory
) -> None:
    # given
    session = await signed_up(gql)
    slug = new_slug()
    # when
    data = await gql.ok(
        CREATE_TENANT,
        {"input": {"name": "Second", "slug": slug, "plan": "STARTER"}},
        token=session["accessToken"],
    )
    # then
    tenant = data["createTenant"]["tenant"]
    assert (tenant["slug"], tenant["plan"], tenant["status"]) == (slug, "STARTER", "TRIAL")
    assert tenant["trialEndsAt"] is not None
    switched = await gql.ok(SWITCH, {"id": tenant["id"]}, token=session["accessToken"])
    assert switched["switchTenant"]["viewer"]["role"] == "OWNER"
    rows = await audit_rows(sessions, key_of(tenant["id"]), "tenant.create")
    assert [r.details for r in rows] == [{"name": "Second", "slug": slug, "plan": "STARTER"}]


async def test_create_tenant_rules(gql: GraphQLClient, members: Members) -> None:
    owner = await members.tenant()
    taken = await gql.ok("{ tenant { slug } }", as_=owner)
    cases = [
        ({"name": "X", "slug": taken["tenant"]["slug"]}, "ConflictError"),
        ({"name": "X", "slug": new_slug(), "plan": "ENTERPRISE"}, "ValidationError"),
        ({"name": "", "slug": "NO"}, "ValidationError"),
    ]
    for variables, typename in cases:
        data = await gql.ok(CREATE_TENANT, {"input": variables}, as_=owner)
        assert data["createTenant"]["__typename"] == typename, variables
    key = await gql.ok(
        'mutation { createApiKey(input: {name: "k", role: ADMIN})'
        " { ... on CreateApiKeyPayload { secret } } }",
        as_=owner,
    )
    refused = await gql.ok(
        CREATE_TENANT,
        {"input": {"name": "X", "slug": new_slug()}},
        token=key["createApiKey"]["secret"],
    )
    assert refused["createTenant"]["__typename"] == "PermissionDeniedError"


# -- updateTenant ------------------------------------------------------------------------------


async def test_update_changes_what_is_given_and_null_clears(
    gql: GraphQLClient, members: Members, sessions: SessionFactory
) -> None:
    # given
    admin = await members.tenant(role=Role.ADMIN)
    first = await update_tenant(
        gql,
        admin,
        name="Renamed",
        settings={
            "timezone": "Europe/Berlin",
            "locale": "de-DE",
            "currency": "EUR",
            "companyEmail": "billing@example.test",
            "logoUrl": "https://example.test/logo.png",
        },
    )
    assert first["tenant"]["name"] == "Renamed"
    # when: one setting cleared, one changed, the rest left out
    second = await update_tenant(
        gql, admin, settings={"companyEmail": None, "timezone": None, "address": "1 Main St"}
    )
    # then
    assert second["tenant"]["name"] == "Renamed"
    assert second["tenant"]["settings"] == {
        "timezone": "UTC",
        "locale": "de-DE",
        "currency": "EUR",
        "companyEmail": None,
        "address": "1 Main St",
        "logoUrl": "https://example.test/logo.png",
    }
    rows = await audit_rows(sessions, admin.tenant_id, "tenant.update")
    assert len(rows) == 2
    assert rows[1].details == {
        "settings.timezone": {"before": "Europe/Berlin", "after": "UTC"},
        "settings.companyEmail": {"before": "billing@example.test", "after": None},
        "settings.address": {"before": None, "after": "1 Main St"},
    }
    assert rows[0].details is not None
    assert rows[0].details["name"]["after"] == "Renamed"
    # and an update that changes nothing writes no row
    await update_tenant(gql, admin, name="Renamed")
    assert len(await audit_rows(sessions, admin.tenant_id, "tenant.update")) == 2
    # settings: null clears them all
    cleared = await update_tenant(gql, admin, settings=None)
    assert cleared["tenant"]["settings"] == {
        "timezone": "UTC",
        "locale": "en-US",
        "currency": "USD",
        "companyEmail": None,
        "address": None,
        "logoUrl": None,
    }


@pytest.mark.parametrize(
    ("setting", "value"),
    [
        ("timezone", "Mars/Olympus"),
        ("locale", "english"),
        ("currency", "EURO"),
        ("currency", "eur"),
        ("companyEmail", "not-an-email"),
        ("logoUrl", "javascript:alert(1)"),
        ("logoUrl", "ftp://example.test/logo.png"),
        ("address", "x" * 501),
    ],
)
async def test_settings_are_validated(
    gql: GraphQLClient, members: Members, setting: str, value: str
) -> None:
    owner = await members.tenant()
    refused = await update_tenant(gql, owner, name="Kept?", settings={setting: value})
    assert [f["field"] for f in refused["fields"]] == [f"input.settings.{setting}"]
    unchanged = await gql.ok("{ tenant { name } }", as_=owner)
    assert unchanged["tenant"]["name"] != "Kept?"


async def test_the_name_cannot_be_cleared(gql: GraphQLClient, members: Members) -> None:
    owner = await members.tenant()
    for name in (None, "  ", "x" * 101):
        refused = await update_tenant(gql, owner, name=name)
        assert [f["field"] for f in refused["fields"]] == ["input.name"], name


async def test_only_admins_update_the_tenant(gql: GraphQLClient, members: Members) -> None:
    owner = await members.tenant()
    editor = await members.member(owner.tenant_id, role=Role.EDITOR)
    refused = await update_tenant(gql, editor, name="Nope")
    assert refused["requiredPermission"] == "tenant:update"


# -- deleteTenant ------------------------------------------------------------------------------


async def test_delete_tenant_is_for_the_owner_and_soft(
    gql: GraphQLClient, members: Members, sessions: SessionFactory
) -> None:
    # given
    owner = await members.tenant()
    admin = await members.member(owner.tenant_id, role=Role.ADMIN)
    refused = await gql.ok(DELETE_TENANT, as_=admin)
    assert refused["deleteTenant"]["requiredPermission"] == "tenant:delete"
    # when
    data = await gql.ok(DELETE_TENANT, as_=owner)
    # then
    assert data["deleteTenant"]["id"] == to_global_id("Tenant", owner.tenant_id)
    async with sessions.global_reader() as db:
        row = await db.get(models.Tenant, owner.tenant_id)
    assert row is not None
    assert row.status is TenantStatus.DELETED
    assert row.deleted_at is not None
    rows = await audit_rows(sessions, owner.tenant_id, "tenant.delete")
    assert [r.details for r in rows] == [{"status": {"before": "ACTIVE", "after": "DELETED"}}]


async def test_a_deleted_tenant_cannot_be_logged_into(gql: GraphQLClient) -> None:
    first = await signed_up(gql)
    email = first["viewer"]["user"]["email"]
    second = await signed_up(gql, email=email)
    await gql.ok(DELETE_TENANT, token=second["accessToken"])
    slug = second["viewer"]["tenant"]["slug"]
    into = await gql.ok(
        LOG_IN, {"input": {"email": email, "password": PASSWORD, "tenantSlug": slug}}
    )
    assert into["logIn"]["__typename"] == "NotFoundError"
    default = await gql.ok(LOG_IN, {"input": {"email": email, "password": PASSWORD}})
    assert default["logIn"]["viewer"]["tenant"]["slug"] == first["viewer"]["tenant"]["slug"]


# -- suspension and trials ---------------------------------------------------------------------

# Mutations of these domains a SUSPENDED tenant refuses, with variables that would otherwise work.
REFUSED_WHEN_SUSPENDED = [
    ("updateTenant", 'updateTenant(input: {name: "x"})'),
    ("inviteMember", f'inviteMember(input: {{email: "{new_email()}", role: VIEWER}})'),
    ("createApiKey", 'createApiKey(input: {name: "k", role: VIEWER})'),
    ("enableModule", 'enableModule(key: "analytics")'),
    ("createTenant", f'createTenant(input: {{name: "x", slug: "{new_slug()}"}})'),
]


async def suspend(sessions: SessionFactory, tenant_id: Any) -> None:
    async with sessions.global_transaction() as db:
        await db.exec(
            update(models.Tenant)
            .where(col(models.Tenant.id) == tenant_id)
            .values(status=TenantStatus.SUSPENDED)
        )


async def test_a_suspended_tenant_reads_but_refuses_changes(
    gql: GraphQLClient, members: Members, sessions: SessionFactory
) -> None:
    # given
    owner = await members.tenant()
    editor = await members.member(owner.tenant_id, role=Role.EDITOR)
    key = await gql.ok(
        'mutation { createApiKey(input: {name: "k", role: VIEWER})'
        " { ... on CreateApiKeyPayload { secret apiKey { id } } } }",
        as_=owner,
    )
    await suspend(sessions, owner.tenant_id)
    # reads work
    data = await gql.ok(TENANT, as_=owner)
    assert data["tenant"]["status"] == "SUSPENDED"
    # changes are refused
    for name, call in REFUSED_WHEN_SUSPENDED:
        body = await gql.ok(f"mutation {{ {call} {{ __typename }} }}", as_=owner)
        assert body[name] == {"__typename": "TenantSuspendedError"}, name
    # but what only takes access away goes on
    revoked = await gql.ok(
        "mutation($id: ID!) { revokeApiKey(id: $id) { __typename } }",
        {"id": key["createApiKey"]["apiKey"]["id"]},
        as_=owner,
    )
    assert revoked["revokeApiKey"]["__typename"] == "ApiKeyPayload"
    removed = await gql.ok(
        "mutation($id: ID!) { removeMember(userId: $id) { __typename } }",
        {"id": to_global_id("User", editor.user_id)},
        as_=owner,
    )
    assert removed["removeMember"]["__typename"] == "DeletedPayload"
    deleted = await gql.ok(DELETE_TENANT, as_=owner)
    assert deleted["deleteTenant"]["__typename"] == "DeletedPayload"


async def test_a_suspended_tenants_members_still_sign_in_and_out(
    gql: GraphQLClient, sessions: SessionFactory
) -> None:
    session = await signed_up(gql)
    await suspend(sessions, key_of(session["viewer"]["tenant"]["id"]))
    email = session["viewer"]["user"]["email"]
    login = await gql.ok(LOG_IN, {"input": {"email": email, "password": PASSWORD}})
    assert login["logIn"]["viewer"]["tenant"]["status"] == "SUSPENDED"
    changed = await gql.ok(
        CHANGE_PASSWORD,
        {"current": PASSWORD, "new": OTHER_PASSWORD},
        token=login["logIn"]["accessToken"],
    )
    assert changed["changePassword"]["__typename"] == "AuthPayload"
    out = await gql.ok(LOG_OUT, {"token": changed["changePassword"]["refreshToken"]})
    assert out["logOut"] is True


async def test_an_ended_trial_is_suspended_until_the_operator_activates_it(
    gql: GraphQLClient, sessions: SessionFactory
) -> None:
    # given a PRO trial whose 14 days are over
    session = await signed_up(gql, plan="PRO")
    tenant_id = key_of(session["viewer"]["tenant"]["id"])
    async with sessions.global_transaction() as db:
        await db.exec(
            update(models.Tenant)
            .where(col(models.Tenant.id) == tenant_id)
            .values(trial_ends_at=utcnow() - timedelta(minutes=1))
        )
    token = session["accessToken"]
    # when / then: it behaves as SUSPENDED at once
    data = await gql.ok("{ tenant { status trialEndsAt } }", token=token)
    assert data["tenant"] == {"status": "SUSPENDED", "trialEndsAt": None}
    refused = await gql.ok(
        'mutation { updateTenant(input: {name: "x"}) { __typename } }', token=token
    )
    assert refused["updateTenant"]["__typename"] == "TenantSuspendedError"
    # and the change was persisted once, with its audit row
    async with sessions.global_reader() as db:
        row = await db.get(models.Tenant, tenant_id)
    assert row is not None
    assert row.status is TenantStatus.SUSPENDED
    rows = await audit_rows(sessions, tenant_id, "tenant.update")
    assert [r.details for r in rows] == [
        {"status": {"before": "TRIAL", "after": "SUSPENDED"}, "reason": "trial ended"}
    ]
    assert await is_signed_in(gql, token)


async def test_a_deleted_tenant_refuses_everything(gql: GraphQLClient, members: Members) -> None:
    owner = await members.tenant()
    await gql.ok(DELETE_TENANT, as_=owner)
    body = await gql.execute(DELETE_TENANT, as_=owner)
    assert error_codes(body) == ["UNAUTHENTICATED"]
