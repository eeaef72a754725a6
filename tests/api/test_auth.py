"""Signing up and in: signUp, logIn, refreshToken, logOut, switchTenant, changePassword, viewer."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import update
from sqlmodel import col

from tenantflow.auth import passwords
from tenantflow.db import models
from tenantflow.db.session import SessionFactory
from tenantflow.db.types import utcnow
from tenantflow.schema.ids import to_global_id
from tests.api.auth_helpers import (
    CHANGE_PASSWORD,
    LOG_IN,
    LOG_OUT,
    OTHER_PASSWORD,
    PASSWORD,
    REFRESH,
    SIGN_UP,
    SWITCH,
    VIEWER,
    audit_rows,
    is_signed_in,
    key_of,
    logged_in,
    new_email,
    new_slug,
    sign_up_input,
    signed_up,
)
from tests.api.conftest import GraphQLClient, Members, error_codes

CREATE_API_KEY = """
mutation($input: CreateApiKeyInput!) {
  createApiKey(input: $input) { ... on CreateApiKeyPayload { secret apiKey { id } } }
}
"""
ALL_PERMISSIONS = [
    "tenant:read",
    "member:read",
    "workflow:read",
    "execution:read",
    "deployment:read",
    "module:read",
    "workflow:write",
    "execution:run",
    "deployment:write",
    "module:manage",
    "provider_key:read",
    "provider_key:manage",
    "api_key:read",
    "api_key:manage",
    "audit:read",
    "tenant:update",
    "member:manage",
    "tenant:delete",
    "member:manage_owner",
]


def field_errors(payload: dict[str, object]) -> set[str]:
    assert payload["__typename"] == "ValidationError", payload
    return {problem["field"] for problem in payload["fields"]}  # type: ignore[attr-defined]


# -- signUp ------------------------------------------------------------------------------------


async def test_sign_up_creates_the_account_its_tenant_and_owner_membership(
    gql: GraphQLClient, sessions: SessionFactory
) -> None:
    # given
    form = sign_up_input(email="New.Person@Example.test", tenantName="Acme", plan=None)
    # when
    data = await gql.ok(SIGN_UP, {"input": form})
    # then
    payload = data["signUp"]
    viewer = payload["viewer"]
    assert payload["expiresIn"] == 900
    assert payload["refreshToken"].startswith("tfr_")
    assert viewer["role"] == "OWNER"
    assert viewer["permissions"] == ALL_PERMISSIONS
    assert viewer["user"]["email"] == "New.Person@Example.test"
    tenant = viewer["tenant"]
    assert tenant["name"] == "Acme"
    assert tenant["slug"] == form["tenantSlug"]
    assert (tenant["plan"], tenant["status"], tenant["trialEndsAt"]) == ("FREE", "ACTIVE", None)
    assert viewer["memberships"] == [
        {
            "tenantId": tenant["id"],
            "tenantName": "Acme",
            "tenantSlug": form["tenantSlug"],
            "role": "OWNER",
        }
    ]
    me = await gql.ok(VIEWER, token=payload["accessToken"])
    assert me["viewer"]["tenant"]["id"] == tenant["id"]
    rows = await audit_rows(sessions, key_of(tenant["id"]))
    assert [(r.action, r.resource_type, r.actor_user_id) for r in rows] == [
        ("auth.sign_up", "User", key_of(viewer["user"]["id"]))
    ]
    assert PASSWORD not in str(rows[0].details)


@pytest.mark.parametrize("plan", ["STARTER", "PRO"])
async def test_paid_plans_start_a_14_day_trial(gql: GraphQLClient, plan: str) -> None:
    before = utcnow()
    payload = await signed_up(gql, plan=plan)
    tenant = payload["viewer"]["tenant"]
    assert (tenant["plan"], tenant["status"]) == (plan, "TRIAL")
    ends = datetime.fromisoformat(tenant["trialEndsAt"])
    assert before + timedelta(days=14) <= ends <= utcnow() + timedelta(days=14)


async def test_enterprise_is_not_for_sign_up(gql: GraphQLClient) -> None:
    data = await gql.ok(SIGN_UP, {"input": sign_up_input(plan="ENTERPRISE")})
    assert field_errors(data["signUp"]) == {"input.plan"}


async def test_every_bad_field_is_named(gql: GraphQLClient) -> None:
    form = sign_up_input(
        email="not-an-email", password="short", tenantSlug="-Bad--Slug", tenantName="  "
    )
    data = await gql.ok(SIGN_UP, {"input": form})
    assert field_errors(data["signUp"]) == {
        "input.email",
        "input.password",
        "input.tenantSlug",
        "input.tenantName",
    }


@pytest.mark.parametrize(("length", "valid"), [(9, False), (10, True), (256, True), (257, False)])
async def test_passwords_have_10_to_256_characters(
    gql: GraphQLClient, length: int, valid: bool
) -> None:
    data = await gql.ok(SIGN_UP, {"input": sign_up_input(password="p" * length)})
    if valid:
        assert data["signUp"]["__typename"] == "AuthPayload"
    else:
        assert field_errors(data["signUp"]) == {"input.password"}


@pytest.mark.parametrize("slug", ["ab", "a" * 51, "UPPER", "with_underscore", "trailing-", "a--b"])
async def test_slug_rules(gql: GraphQLClient, slug: str) -> None:
    data = await gql.ok(SIGN_UP, {"input": sign_up_input(tenantSlug=slug)})
    assert field_errors(data["signUp"]) == {"input.tenantSlug"}


async def test_a_taken_slug_is_a_conflict(gql: GraphQLClient) -> None:
    first = await signed_up(gql)
    data = await gql.ok(
        SIGN_UP, {"input": sign_up_input(tenantSlug=first["viewer"]["tenant"]["slug"])}
    )
    assert data["signUp"] == {"__typename": "ConflictError", "message": "This slug is taken"}


async def test_an_existing_account_with_its_password_gets_the_new_tenant(
    gql: GraphQLClient,
) -> None:
    # given
    first = await signed_up(gql, email="owner@example.test")
    # when: the same email, written differently, signs up again with its password
    second = await signed_up(gql, email="OWNER@example.test", tenantName="Second")
    # then
    assert second["viewer"]["user"]["id"] == first["viewer"]["user"]["id"]
    assert second["viewer"]["tenant"]["name"] == "Second"
    assert [m["tenantName"] for m in second["viewer"]["memberships"]] == [
        "Example Ltd",
        "Second",
    ]
    # and a login without a tenant goes to the oldest membership
    login = await logged_in(gql, "owner@example.test")
    assert login["viewer"]["tenant"]["id"] == first["viewer"]["tenant"]["id"]


async def test_an_existing_account_with_another_password_is_a_conflict(
    gql: GraphQLClient,
) -> None:
    first = await signed_up(gql)
    email = first["viewer"]["user"]["email"]
    slug = new_slug()
    data = await gql.ok(
        SIGN_UP, {"input": sign_up_input(email=email, password=OTHER_PASSWORD, tenantSlug=slug)}
    )
    assert data["signUp"]["__typename"] == "ConflictError"
    # nothing was created: the slug is still free
    await signed_up(gql, tenantSlug=slug)


# -- logIn -------------------------------------------------------------------------------------


async def test_log_in_into_a_named_tenant(gql: GraphQLClient) -> None:
    first = await signed_up(gql)
    email = first["viewer"]["user"]["email"]
    second = await signed_up(gql, email=email)
    slug = second["viewer"]["tenant"]["slug"]
    login = await logged_in(gql, email.upper(), tenantSlug=slug)
    assert login["viewer"]["tenant"]["slug"] == slug
    me = await gql.ok(VIEWER, token=login["accessToken"])
    assert me["viewer"]["tenant"]["slug"] == slug


async def test_a_wrong_password_and_an_unknown_email_get_the_same_answer(
    gql: GraphQLClient,
) -> None:
    known = (await signed_up(gql))["viewer"]["user"]["email"]
    answers = [
        (await gql.ok(LOG_IN, {"input": {"email": email, "password": password}}))["logIn"]
        for email, password in ((known, OTHER_PASSWORD), (new_email(), PASSWORD))
    ]
    assert (
        answers[0]
        == answers[1]
        == {
            "__typename": "InvalidCredentialsError",
            "message": "Invalid email or password",
        }
    )


async def test_an_unknown_email_costs_an_argon2_verification(
    gql: GraphQLClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    verified: list[str] = []
    real = passwords.verify_password

    async def spy(password_hash: str, password: str) -> bool:
        verified.append(password_hash)
        return await real(password_hash, password)

    monkeypatch.setattr(passwords, "verify_password", spy)
    data = await gql.ok(LOG_IN, {"input": {"email": new_email(), "password": PASSWORD}})
    assert data["logIn"]["__typename"] == "InvalidCredentialsError"
    assert verified == [passwords.DECOY_HASH]
    # made with the parameters real hashes get, so that it takes as long
    assert passwords.has_current_parameters(passwords.DECOY_HASH)


async def test_a_tenant_the_account_does_not_belong_to_is_not_found(
    gql: GraphQLClient,
) -> None:
    mine = await signed_up(gql)
    theirs = await signed_up(gql)
    data = await gql.ok(
        LOG_IN,
        {
            "input": {
                "email": mine["viewer"]["user"]["email"],
                "password": PASSWORD,
                "tenantSlug": theirs["viewer"]["tenant"]["slug"],
            }
        },
    )
    assert data["logIn"] == {"__typename": "NotFoundError", "message": "Tenant not found"}


async def test_logins_and_failed_logins_are_audited(
    gql: GraphQLClient, sessions: SessionFactory
) -> None:
    # given an account in two tenants
    first = await signed_up(gql)
    email = first["viewer"]["user"]["email"]
    second = await signed_up(gql, email=email)
    first_id = key_of(first["viewer"]["tenant"]["id"])
    second_id = key_of(second["viewer"]["tenant"]["id"])
    # when
    await logged_in(gql, email)
    await gql.ok(LOG_IN, {"input": {"email": email, "password": OTHER_PASSWORD}})
    await gql.ok(
        LOG_IN,
        {
            "input": {
                "email": email,
                "password": OTHER_PASSWORD,
                "tenantSlug": second["viewer"]["tenant"]["slug"],
            }
        },
    )
    # then: failures land in the targeted tenant, else in the oldest one
    assert len(await audit_rows(sessions, first_id, "auth.login")) == 1
    assert len(await audit_rows(sessions, first_id, "auth.login_failed")) == 1
    failed = await audit_rows(sessions, second_id, "auth.login_failed")
    assert [(r.resource_type, r.actor_user_id) for r in failed] == [
        ("User", key_of(first["viewer"]["user"]["id"]))
    ]
    assert OTHER_PASSWORD not in str(failed[0].details)


async def test_failed_logins_are_limited_per_account(gql: GraphQLClient) -> None:
    # given an account and an email without one, each failing ten times
    known = (await signed_up(gql))["viewer"]["user"]["email"]
    unknown = new_email()
    for email in (known, unknown):
        for _ in range(10):
            data = await gql.ok(LOG_IN, {"input": {"email": email, "password": OTHER_PASSWORD}})
            assert data["logIn"]["__typename"] == "InvalidCredentialsError"
    # when / then: the eleventh from this address is refused, even with the right password,
    # alike for both, as a 429 with Retry-After
    for email in (known, unknown):
        body = await refused_login(gql, email)
        assert body["errors"][0]["extensions"]["retryAfter"] >= 1
    # and another account from the same address is not affected yet
    await logged_in(gql, (await signed_up(gql))["viewer"]["user"]["email"])


async def test_failed_logins_are_limited_per_client_address(gql: GraphQLClient) -> None:
    victim = (await signed_up(gql))["viewer"]["user"]["email"]
    for _ in range(30):  # one address trying many accounts
        await gql.ok(LOG_IN, {"input": {"email": new_email(), "password": PASSWORD}})
    await refused_login(gql, victim)


async def refused_login(gql: GraphQLClient, email: str) -> dict[str, Any]:
    """A logIn with the right password that the throttle refuses: 429, Retry-After, no data."""
    variables = {"input": {"email": email, "password": PASSWORD}}
    response = await gql.http.post("/graphql", json={"query": LOG_IN, "variables": variables})
    assert response.status_code == 429, response.text
    body: dict[str, Any] = response.json()
    assert error_codes(body) == ["RATE_LIMITED"]
    assert int(response.headers["retry-after"]) == body["errors"][0]["extensions"]["retryAfter"]
    return body


# -- refreshToken and logOut -----------------------------------------------------------------


async def test_refresh_rotates_and_a_reused_token_revokes_the_family(
    gql: GraphQLClient, sessions: SessionFactory
) -> None:
    # given
    session = await signed_up(gql)
    first_refresh = session["refreshToken"]
    # when: rotated once
    rotated = (await gql.ok(REFRESH, {"token": first_refresh}))["refreshToken"]
    # then
    assert rotated["__typename"] == "AuthPayload"
    assert rotated["refreshToken"] != first_refresh
    assert await is_signed_in(gql, rotated["accessToken"])
    # when: the used token comes back (a thief, or the victim after the thief)
    reused = (await gql.ok(REFRESH, {"token": first_refresh}))["refreshToken"]
    # then: refused, and every token of the family with it
    assert reused == {"__typename": "InvalidCredentialsError", "message": "Invalid refresh token"}
    again = (await gql.ok(REFRESH, {"token": rotated["refreshToken"]}))["refreshToken"]
    assert again["__typename"] == "InvalidCredentialsError"
    assert not await is_signed_in(gql, rotated["accessToken"])
    assert not await is_signed_in(gql, session["accessToken"])
    tenant_id = key_of(session["viewer"]["tenant"]["id"])
    assert len(await audit_rows(sessions, tenant_id, "auth.refresh")) == 1
    assert len(await audit_rows(sessions, tenant_id, "auth.refresh_reuse")) == 1


async def test_unknown_and_expired_refresh_tokens_are_refused(
    gql: GraphQLClient, sessions: SessionFactory
) -> None:
    session = await signed_up(gql)
    async with sessions.tenant_transaction(key_of(session["viewer"]["tenant"]["id"])) as db:
        await db.exec(
            update(models.RefreshToken).values(expires_at=utcnow() - timedelta(seconds=1))
        )
    for token in (session["refreshToken"], "tfr_" + "x" * 43, ""):
        data = await gql.ok(REFRESH, {"token": token})
        assert data["refreshToken"]["__typename"] == "InvalidCredentialsError", token


async def test_log_out_ends_the_session(gql: GraphQLClient, sessions: SessionFactory) -> None:
    # given two sessions of one account
    session = await signed_up(gql)
    other = await logged_in(gql, session["viewer"]["user"]["email"])
    # when
    assert (await gql.ok(LOG_OUT, {"token": session["refreshToken"]}))["logOut"] is True
    # then
    assert not await is_signed_in(gql, session["accessToken"])
    refreshed = await gql.ok(REFRESH, {"token": session["refreshToken"]})
    assert refreshed["refreshToken"]["__typename"] == "InvalidCredentialsError"
    assert await is_signed_in(gql, other["accessToken"])
    assert (await gql.ok(LOG_OUT, {"token": session["refreshToken"]}))["logOut"] is False
    assert (await gql.ok(LOG_OUT, {"token": "tfr_unknown"}))["logOut"] is False
    tenant_id = key_of(session["viewer"]["tenant"]["id"])
    assert len(await audit_rows(sessions, tenant_id, "auth.logout")) == 1


# -- switchTenant ------------------------------------------------------------------------------


async def test_switch_tenant_issues_tokens_for_another_tenant_of_the_viewer(
    gql: GraphQLClient, sessions: SessionFactory
) -> None:
    # given
    first = await signed_up(gql)
    second = await signed_up(gql, email=first["viewer"]["user"]["email"])
    second_id = second["viewer"]["tenant"]["id"]
    # when
    data = await gql.ok(SWITCH, {"id": second_id}, token=first["accessToken"])
    # then
    switched = data["switchTenant"]
    assert switched["viewer"]["tenant"]["id"] == second_id
    me = await gql.ok(VIEWER, token=switched["accessToken"])
    assert me["viewer"]["tenant"]["id"] == second_id
    assert await is_signed_in(gql, first["accessToken"])  # the first session goes on
    logins = await audit_rows(sessions, key_of(second_id), "auth.login")
    assert [r.details for r in logins] == [{"method": "switchTenant"}]


async def test_switch_tenant_to_a_tenant_not_the_viewers_is_not_found(
    gql: GraphQLClient, members: Members
) -> None:
    mine = await members.tenant()
    theirs = await members.tenant()
    for tenant_id in (
        to_global_id("Tenant", theirs.tenant_id),
        to_global_id("Workflow", mine.tenant_id),
        "garbage",
    ):
        data = await gql.ok(SWITCH, {"id": tenant_id}, as_=mine)
        assert data["switchTenant"] == {
            "__typename": "NotFoundError",
            "message": "Tenant not found",
        }


async def test_an_api_key_cannot_switch_tenant(gql: GraphQLClient, members: Members) -> None:
    owner = await members.tenant()
    created = await gql.ok(CREATE_API_KEY, {"input": {"name": "ci", "role": "ADMIN"}}, as_=owner)
    key = created["createApiKey"]["secret"]
    data = await gql.ok(SWITCH, {"id": to_global_id("Tenant", owner.tenant_id)}, token=key)
    assert data["switchTenant"]["__typename"] == "PermissionDeniedError"


async def test_switch_tenant_needs_credentials(gql: GraphQLClient, members: Members) -> None:
    owner = await members.tenant()
    body = await gql.execute(SWITCH, {"id": to_global_id("Tenant", owner.tenant_id)})
    assert error_codes(body) == ["UNAUTHENTICATED"]


# -- changePassword ----------------------------------------------------------------------------


async def test_change_password_ends_every_other_session(
    gql: GraphQLClient, sessions: SessionFactory
) -> None:
    # given an account signed in twice, in two tenants
    first = await signed_up(gql)
    email = first["viewer"]["user"]["email"]
    elsewhere = await signed_up(gql, email=email)
    # when
    data = await gql.ok(
        CHANGE_PASSWORD, {"current": PASSWORD, "new": OTHER_PASSWORD}, token=first["accessToken"]
    )
    # then: the new tokens work, every earlier session is over
    changed = data["changePassword"]
    assert changed["__typename"] == "AuthPayload"
    assert await is_signed_in(gql, changed["accessToken"])
    for old in (first, elsewhere):
        assert not await is_signed_in(gql, old["accessToken"])
        refreshed = await gql.ok(REFRESH, {"token": old["refreshToken"]})
        assert refreshed["refreshToken"]["__typename"] == "InvalidCredentialsError"
    rotated = await gql.ok(REFRESH, {"token": changed["refreshToken"]})
    assert rotated["refreshToken"]["__typename"] == "AuthPayload"
    # and only the new password logs in
    old_login = await gql.ok(LOG_IN, {"input": {"email": email, "password": PASSWORD}})
    assert old_login["logIn"]["__typename"] == "InvalidCredentialsError"
    new_login = await gql.ok(LOG_IN, {"input": {"email": email, "password": OTHER_PASSWORD}})
    assert new_login["logIn"]["__typename"] == "AuthPayload"
    tenant_id = key_of(first["viewer"]["tenant"]["id"])
    rows = await audit_rows(sessions, tenant_id, "auth.password_change")
    assert len(rows) == 1
    assert rows[0].details is None


async def test_change_password_checks_both_passwords(gql: GraphQLClient) -> None:
    session = await signed_up(gql)
    token = session["accessToken"]
    wrong = await gql.ok(CHANGE_PASSWORD, {"current": OTHER_PASSWORD, "new": "x" * 20}, token=token)
    assert wrong["changePassword"]["__typename"] == "InvalidCredentialsError"
    short = await gql.ok(CHANGE_PASSWORD, {"current": PASSWORD, "new": "short"}, token=token)
    assert field_errors(short["changePassword"]) == {"newPassword"}
    assert await is_signed_in(gql, token)  # nothing changed


# -- viewer ------------------------------------------------------------------------------------


async def test_viewer_is_null_without_credentials(gql: GraphQLClient) -> None:
    assert await gql.ok("{ viewer { role } }") == {"viewer": None}
    body = await gql.execute("{ tenant { id } }")
    assert error_codes(body) == ["UNAUTHENTICATED"]


async def test_viewer_of_an_api_key(gql: GraphQLClient, members: Members) -> None:
    owner = await members.tenant()
    created = await gql.ok(CREATE_API_KEY, {"input": {"name": "ci", "role": "EDITOR"}}, as_=owner)
    data = await gql.ok(VIEWER, token=created["createApiKey"]["secret"])
    viewer = data["viewer"]
    tenant_id = to_global_id("Tenant", owner.tenant_id)
    assert viewer["user"] is None
    assert viewer["apiKey"] == {
        "id": created["createApiKey"]["apiKey"]["id"],
        "name": "ci",
        "role": "EDITOR",
    }
    assert viewer["role"] == "EDITOR"
    assert "workflow:write" in viewer["permissions"]
    assert "api_key:read" not in viewer["permissions"]
    assert [(m["tenantId"], m["role"]) for m in viewer["memberships"]] == [(tenant_id, "EDITOR")]


async def test_memberships_leave_out_deleted_tenants(
    gql: GraphQLClient, sessions: SessionFactory
) -> None:
    first = await signed_up(gql)
    second = await signed_up(gql, email=first["viewer"]["user"]["email"])
    async with sessions.global_transaction() as db:
        await db.exec(
            update(models.Tenant)
            .where(col(models.Tenant.id) == key_of(second["viewer"]["tenant"]["id"]))
            .values(status="DELETED")
        )
    data = await gql.ok(VIEWER, token=first["accessToken"])
    assert [m["tenantSlug"] for m in data["viewer"]["memberships"]] == [
        first["viewer"]["tenant"]["slug"]
    ]
