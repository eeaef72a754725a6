"""/metrics moves as requests are made, behind its token; each request logs one masked line."""

from __future__ import annotations

import json
import logging

import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families

from tenantflow.enums import Plan
from tenantflow.settings import Settings
from tests.api.conftest import Members
from tests.api.websocket import graphql_ws
from tests.protection.conftest import client_of, running

TOKEN = "metrics-token-" + "m" * 20


def samples(text: str) -> dict[tuple[str, frozenset[tuple[str, str]]], float]:
    return {
        (sample.name, frozenset(sample.labels.items())): sample.value
        for family in text_string_to_metric_families(text)
        for sample in family.samples
    }


def value(
    scraped: dict[tuple[str, frozenset[tuple[str, str]]], float], name: str, **labels: str
) -> float:
    return scraped.get((name, frozenset(labels.items())), 0.0)


async def scrape(http: httpx.AsyncClient) -> dict[tuple[str, frozenset[tuple[str, str]]], float]:
    response = await http.get("/metrics", headers={"Authorization": f"Bearer {TOKEN}"})
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("text/plain")
    return samples(response.text)


async def test_metrics_need_the_token_when_one_is_set(settings: Settings) -> None:
    async with running(settings, metrics_token=TOKEN) as served, client_of(served.app) as gql:
        assert (await gql.http.get("/metrics")).status_code == 401
        wrong = {"Authorization": "Bearer not-it"}
        assert (await gql.http.get("/metrics", headers=wrong)).status_code == 401
        assert (
            "tenantflow_requests_total"
            in (await gql.http.get("/metrics", headers={"Authorization": f"Bearer {TOKEN}"})).text
        )
    async with running(settings) as served, client_of(served.app) as gql:
        assert (await gql.http.get("/metrics")).status_code == 200


async def test_metrics_move_as_requests_are_made(settings: Settings, members: Members) -> None:
    member = await members.tenant(plan=Plan.FREE)
    slug = f"t-{member.tenant_id.hex[:12]}"
    overrides = {"metrics_token": TOKEN, "rate_limits": "FREE=3/minute"}
    async with running(settings, **overrides) as served, client_of(served.app) as gql:
        before = await scrape(gql.http)
        # named by operationName too: refused before parsing, it is known by that name only
        probe = {"query": "query Probe { viewer { role } }", "operationName": "Probe"}
        statuses = [
            (await gql.http.post("/graphql", json=probe, headers=member.headers)).status_code
            for _ in range(4)
        ]
        assert statuses == [200, 200, 200, 429]
        deep = "query Deep { " + "a { " * 20 + "b" + " }" * 20 + " }"
        await gql.http.post("/graphql", json={"query": deep})
        async with graphql_ws(served.app) as socket:
            await socket.init(member.token)
            during = await scrape(gql.http)
        after = await scrape(gql.http)

    def moved(name: str, **labels: str) -> float:
        return value(after, name, **labels) - value(before, name, **labels)

    assert moved("tenantflow_requests_total", operation="Probe", tenant=slug, transport="http") == 4
    assert moved("tenantflow_request_duration_seconds_count", operation="Probe", tenant=slug) == 4
    assert (
        moved(
            "tenantflow_request_errors_total", operation="Probe", tenant=slug, code="RATE_LIMITED"
        )
        == 1
    )
    assert moved("tenantflow_rate_limit_refusals_total", budget="requests") == 1
    assert moved("tenantflow_query_limit_refusals_total", limit="depth") == 1
    assert (
        value(during, "tenantflow_websockets_open") - value(before, "tenantflow_websockets_open")
        == 1
    )
    assert value(after, "tenantflow_websockets_open") == value(before, "tenantflow_websockets_open")
    for name in (
        "tenantflow_db_pool_in_use",
        "tenantflow_db_pool_waiting",
        "tenantflow_subscriptions_active",
        "tenantflow_rate_limit_storage_degraded",
    ):
        assert (name, frozenset()) in after, name


async def test_a_request_logs_one_line_with_its_id_and_no_email_or_secret(
    settings: Settings, members: Members, caplog: pytest.LogCaptureFixture
) -> None:
    member = await members.tenant()
    caplog.set_level(logging.INFO, logger="tenantflow.requests")
    password = "a secret password of mine"
    email = "someone.private@example.org"
    login = "mutation($in: LogInInput!) { logIn(input: $in) { __typename } }"
    async with running(settings) as served, client_of(served.app) as gql:
        await gql.http.post(
            "/graphql",
            json={"query": login, "variables": {"in": {"email": email, "password": password}}},
            headers={"X-Request-ID": "req-login-1"},
        )
        # a GET carries its variables in the query string: they must not reach the log either
        await gql.http.get(
            "/graphql",
            params={"query": "query Me { viewer { role } }", "variables": json.dumps({"e": email})},
            headers={"X-Request-ID": "req-get-2", **member.headers},
        )
    lines = [
        record.getMessage() for record in caplog.records if record.name == "tenantflow.requests"
    ]
    entries = [json.loads(line) for line in lines]
    login_entry = next(entry for entry in entries if entry["request_id"] == "req-login-1")
    assert login_entry["path"] == "/graphql"
    assert login_entry["status"] == 200
    assert login_entry["operation"] is None
    assert login_entry["cost"] == 1
    get_entry = next(entry for entry in entries if entry["request_id"] == "req-get-2")
    assert get_entry["operation"] == "Me"
    assert get_entry["tenant"] == str(member.tenant_id)
    assert isinstance(get_entry["duration_ms"], float)
    for line in lines:
        assert email not in line
        assert password not in line
        assert member.token not in line
