"""Budgets: requests and cost per tenant (by plan), per address without credentials, LOGIN; 429
with Retry-After over a budget, the contract's headers on every answer, shared through Redis."""

from __future__ import annotations

import time
from typing import Any

import pytest

from tenantflow.enums import Plan
from tenantflow.observability import metrics
from tenantflow.settings import Settings
from tests.api.conftest import GraphQLClient, Member, Members, error_codes
from tests.api.websocket import graphql_ws
from tests.protection.conftest import client_of, running
from tests.redis_helpers import REDIS_URL

VIEWER = "{ viewer { role } }"
PAGE = "{ workflows(first: 10) { totalCount } }"  # costs 10
SIGN_UP = """
mutation($in: SignUpInput!) {
  signUp(input: $in) { __typename ... on AuthPayload { accessToken refreshToken } }
}
"""
LOG_IN = "mutation($in: LogInInput!) { logIn(input: $in) { __typename } }"
REFRESH = "mutation($t: String!) { refreshToken(refreshToken: $t) { __typename } }"
PASSWORD = "a long enough password"


async def answer(
    gql: GraphQLClient,
    query: str,
    variables: dict[str, Any] | None = None,
    member: Member | None = None,
) -> tuple[int, dict[str, str], dict[str, Any]]:
    response = await gql.http.post(
        "/graphql",
        json={"query": query, "variables": variables or {}},
        headers=member.headers if member else {},
    )
    return response.status_code, dict(response.headers), response.json()


def sign_up_input(index: int) -> dict[str, Any]:
    return {
        "in": {
            "email": f"person-{index}-{time.monotonic_ns()}@example.test",
            "password": PASSWORD,
            "tenantName": "Acme",
            "tenantSlug": f"acme-{index}-{time.monotonic_ns() % 10**9}",
        }
    }


async def test_a_tenant_over_its_request_budget_gets_429_and_another_tenant_is_untouched(
    settings: Settings, members: Members
) -> None:
    # given two FREE tenants on a server with a budget of 5 requests a minute
    spender = await members.tenant(plan=Plan.FREE)
    bystander = await members.tenant(plan=Plan.FREE)
    limited = running(settings, rate_limits="FREE=5/minute")
    async with limited as served, client_of(served.app) as gql:
        # when the first spends its 5, then sends a sixth
        for spent in range(1, 6):
            status, headers, _ = await answer(gql, VIEWER, member=spender)
            assert status == 200
            assert headers["x-ratelimit-limit"] == "5"
            assert headers["x-ratelimit-remaining"] == str(5 - spent)
            assert int(headers["x-ratelimit-reset"]) >= int(time.time())
            assert headers["x-cost-limit"] == "6000"
        status, headers, body = await answer(gql, VIEWER, member=spender)
        # then: 429, Retry-After, RATE_LIMITED with retryAfter, no data
        assert status == 429
        assert error_codes(body) == ["RATE_LIMITED"]
        retry_after = body["errors"][0]["extensions"]["retryAfter"]
        assert headers["retry-after"] == str(retry_after)
        assert 1 <= retry_after <= 60
        assert headers["x-ratelimit-remaining"] == "0"
        assert body["extensions"] == {"cost": 0}
        # and the other tenant's budget is whole
        status, headers, _ = await answer(gql, VIEWER, member=bystander)
        assert status == 200
        assert headers["x-ratelimit-remaining"] == "4"


async def test_the_cost_budget_is_spent_by_cost_and_is_per_tenant(
    settings: Settings, members: Members
) -> None:
    spender = await members.tenant(plan=Plan.PRO)
    bystander = await members.tenant(plan=Plan.PRO)
    limited = running(settings, rate_limits="PRO_COST=25/minute")
    async with limited as served, client_of(served.app) as gql:
        for remaining in (15, 5):
            status, headers, body = await answer(gql, PAGE, member=spender)
            assert status == 200, body
            assert body["extensions"] == {"cost": 10}
            assert (headers["x-cost-limit"], headers["x-cost-remaining"]) == (
                "25",
                str(remaining),
            )
            assert headers["x-ratelimit-limit"] == "1000"
        # the next page costs 10 and 5 are left: refused, and nothing is spent
        status, headers, body = await answer(gql, PAGE, member=spender)
        assert status == 429
        assert error_codes(body) == ["RATE_LIMITED"]
        assert headers["x-cost-remaining"] == "5"
        # a cheaper operation still fits
        status, headers, _ = await answer(gql, VIEWER, member=spender)
        assert (status, headers["x-cost-remaining"]) == (200, "4")
        # another tenant pays from its own budget
        status, headers, _ = await answer(gql, PAGE, member=bystander)
        assert (status, headers["x-cost-remaining"]) == (200, "15")


async def test_anonymous_requests_are_counted_per_client_address(settings: Settings) -> None:
    async with running(settings, rate_limits="ANONYMOUS=3/minute") as served:
        async with client_of(served.app, "203.0.113.20") as first:
            for _ in range(3):
                assert (await answer(first, VIEWER))[0] == 200
            status, _, body = await answer(first, VIEWER)
            assert (status, error_codes(body)) == (429, ["RATE_LIMITED"])
        async with client_of(served.app, "203.0.113.21") as second:
            assert (await answer(second, VIEWER))[0] == 200


async def test_login_counts_every_sign_up_log_in_and_refresh_per_address(
    settings: Settings,
) -> None:
    async with running(settings, rate_limits="LOGIN=4/minute") as served:
        async with client_of(served.app, "203.0.113.30") as gql:
            # two sign-ups, a successful login and a refresh: four, all successes
            signed = [await answer(gql, SIGN_UP, sign_up_input(i)) for i in range(2)]
            assert [status for status, _, _ in signed] == [200, 200]
            email = sign_up_input(0)["in"]["email"]
            first = signed[0][2]["data"]["signUp"]
            assert first["__typename"] == "AuthPayload"
            status, _, body = await answer(
                gql, LOG_IN, {"in": {"email": email, "password": PASSWORD}}
            )
            assert status == 200, body
            status, _, body = await answer(gql, REFRESH, {"t": first["refreshToken"]})
            assert status == 200, body
            # when a fifth comes from the same address
            status, headers, body = await answer(gql, SIGN_UP, sign_up_input(9))
            # then
            assert status == 429
            assert error_codes(body) == ["RATE_LIMITED"]
            assert int(headers["retry-after"]) >= 1
        async with client_of(served.app, "203.0.113.31") as elsewhere:
            assert (await answer(elsewhere, SIGN_UP, sign_up_input(10)))[0] == 200


async def test_login_counts_an_accounts_sign_ins_from_every_address(settings: Settings) -> None:
    async with running(settings, rate_limits="LOGIN=3/minute") as served:
        form = sign_up_input(0)
        credentials = {"in": {"email": form["in"]["email"], "password": PASSWORD}}
        async with client_of(served.app, "203.0.113.40") as home:
            assert (await answer(home, SIGN_UP, form))[0] == 200
        # two more sign-ins, each from an address of its own
        for index in (41, 42):
            async with client_of(served.app, f"203.0.113.{index}") as away:
                status, _, body = await answer(away, LOG_IN, credentials)
                assert (status, body["data"]["logIn"]["__typename"]) == (200, "AuthPayload")
        async with client_of(served.app, "203.0.113.43") as fourth:
            status, _, body = await answer(fourth, LOG_IN, credentials)
        assert (status, error_codes(body)) == (429, ["RATE_LIMITED"])


async def test_wrong_passwords_do_not_spend_the_owners_login_budget(
    settings: Settings,
) -> None:
    async with running(settings, rate_limits="LOGIN=3/minute") as served:
        form = sign_up_input(0)
        async with client_of(served.app, "203.0.113.50") as home:
            assert (await answer(home, SIGN_UP, form))[0] == 200
        wrong = {"in": {"email": form["in"]["email"], "password": "not the password!"}}
        for index in (51, 52, 53, 54):  # a guesser, from many addresses
            async with client_of(served.app, f"203.0.113.{index}") as guesser:
                await answer(guesser, LOG_IN, wrong)
        right = {"in": {"email": form["in"]["email"], "password": PASSWORD}}
        async with client_of(served.app, "203.0.113.50") as home:
            status, _, body = await answer(home, LOG_IN, right)
        assert (status, body["data"]["logIn"]["__typename"]) == (200, "AuthPayload")


async def test_websocket_operations_spend_the_tenants_budget(
    settings: Settings, members: Members
) -> None:
    member = await members.tenant(plan=Plan.FREE)
    async with running(settings, rate_limits="FREE=3/minute") as served:
        async with graphql_ws(served.app) as socket:
            assert (await socket.init(member.token))["type"] == "connection_ack"
            for _ in range(3):
                await socket.subscribe(VIEWER)
                assert (await socket.receive())["type"] == "next"
                assert (await socket.receive())["type"] == "complete"
            refused = await socket.subscribe(VIEWER)
            message = await socket.receive()
            assert message["type"] == "error"
            assert message["id"] == refused
            assert message["payload"][0]["extensions"]["code"] == "RATE_LIMITED"
            assert message["payload"][0]["extensions"]["retryAfter"] >= 1
        # and HTTP sees the same budget spent
        async with client_of(served.app) as gql:
            assert (await answer(gql, VIEWER, member=member))[0] == 429


async def test_two_processes_on_one_redis_share_one_budget(
    settings: Settings, members: Members, redis_prefix: str
) -> None:
    member = await members.tenant(plan=Plan.FREE)
    shared: dict[str, Any] = {
        "rate_limits": "FREE=4/minute",
        "redis_url": REDIS_URL,
        "redis_key_prefix": redis_prefix,
    }
    async with running(settings, **shared) as one, running(settings, **shared) as other:
        assert one.runtime.limiter_storage is not other.runtime.limiter_storage
        async with client_of(one.app) as first, client_of(other.app) as second:
            for gql in (first, second, first, second):
                assert (await answer(gql, VIEWER, member=member))[0] == 200
            assert (await answer(first, VIEWER, member=member))[0] == 429
            assert (await answer(second, VIEWER, member=member))[0] == 429


async def test_an_unreachable_redis_leaves_budgets_in_the_process(
    settings: Settings, members: Members, caplog: pytest.LogCaptureFixture
) -> None:
    member = await members.tenant(plan=Plan.FREE)
    errors_before = metrics.RATE_LIMIT_STORAGE_ERRORS._value.get()
    async with running(
        settings, rate_limits="FREE=2/minute", redis_url="redis://127.0.0.1:1/0"
    ) as served:
        async with client_of(served.app) as gql:
            statuses = [(await answer(gql, VIEWER, member=member))[0] for _ in range(3)]
        assert served.runtime.limiter_storage.degraded
    assert statuses == [200, 200, 429]
    assert metrics.RATE_LIMIT_STORAGE_ERRORS._value.get() > errors_before
    assert metrics.RATE_LIMIT_STORAGE_DEGRADED._value.get() == 1
    warnings = [r.getMessage() for r in caplog.records if "Redis unavailable" in r.getMessage()]
    assert len(warnings) == 1, warnings


async def test_off_disables_every_budget(settings: Settings, members: Members) -> None:
    member = await members.tenant(plan=Plan.FREE)
    async with running(settings, rate_limits="off") as served, client_of(served.app) as gql:
        for _ in range(70):
            status, headers, body = await answer(gql, VIEWER, member=member)
            assert status == 200
        assert "x-ratelimit-limit" not in headers
        assert body["extensions"] == {"cost": 1}


def test_a_malformed_budget_is_refused_at_start() -> None:
    for value in ("FREE=sixty", "GOLD=5/minute", "FREE"):
        with pytest.raises(ValueError, match=r"rate_limits"):
            Settings(rate_limits=value)
