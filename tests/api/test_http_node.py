"""The http node through the API: workflows calling a local server run by the server's executor.

The server allows 127.0.0.1 (TENANTFLOW_HTTP_ALLOW), where the test's echo server listens; every
refused address is refused before anything connects.
"""

from __future__ import annotations

import secrets
import time
import uuid
from collections.abc import AsyncIterator, Iterator
from typing import Any
from urllib.parse import quote

import httpx
import pytest
from asgi_lifespan import LifespanManager
from sqlmodel import col, select
from starlette.types import ASGIApp

from tenantflow.app import build_app
from tenantflow.db import models
from tenantflow.db.session import SessionFactory
from tenantflow.enums import Plan
from tenantflow.executor.step_context import PROVIDER_KEY_MISSING
from tenantflow.global_ids import encode_global_id
from tenantflow.settings import Settings
from tests.api.conftest import GraphQLClient, Member, Members
from tests.api.workflow_helpers import create_workflow, key_of, run_workflow
from tests.http_echo import EchoServer, echo_server
from tests.polling import eventually
from tests.test_secrets_in_logs import capture_every_logger, text_of

EXECUTION = """
query($id: ID!) {
  execution(id: $id) {
    status output error
    steps { nodeId status output error }
  }
}
"""
CREATE_KEY = """
mutation($input: CreateProviderKeyInput!) {
  createProviderKey(input: $input) {
    __typename ... on ProviderKeyPayload { providerKey { id } }
  }
}
"""
REVOKE_KEY = "mutation($id: ID!) { revokeProviderKey(id: $id) { __typename } }"
KEY_USES = """
query($key: ID) {
  auditLogs(filter: {action: "provider_key.use", resourceId: $key}) {
    edges { node { resourceId details actor { id } } }
  }
  providerKeys { edges { node { id lastUsedAt } } }
}
"""


@pytest.fixture(scope="module")
def echo() -> Iterator[EchoServer]:
    with echo_server() as server:
        yield server


@pytest.fixture
async def server(settings: Settings) -> AsyncIterator[ASGIApp]:
    """The application with its executor, allowed to reach 127.0.0.1 only."""
    running = settings.model_copy(
        update={"executor_workers": 2, "executor_lease_seconds": 5, "http_allow": ["127.0.0.1"]}
    )
    async with LifespanManager(build_app(running)) as manager:
        yield manager.app


@pytest.fixture
async def api(server: ASGIApp) -> AsyncIterator[GraphQLClient]:
    transport = httpx.ASGITransport(app=server)
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as http:
        yield GraphQLClient(http)


def call(**config: Any) -> dict[str, Any]:
    """A definition: the http node `call`, then `after`, which receives its output."""
    return {
        "nodes": [
            {"id": "call", "type": "http", "config": config},
            {"id": "after", "type": "transform", "config": {"set": {"after": True}}},
        ],
        "edges": [{"from": "call", "to": "after"}],
    }


async def ran(api: GraphQLClient, member: Member, definition: dict[str, Any]) -> dict[str, Any]:
    """The finished execution of a new workflow with `definition`, as the API shows it."""
    workflow = await create_workflow(api, member, definition=definition)
    execution_id = (await run_workflow(api, member, workflow["id"]))["id"]

    async def done() -> dict[str, Any] | None:
        execution: dict[str, Any] = (await api.ok(EXECUTION, {"id": execution_id}, as_=member))[
            "execution"
        ]
        return execution if execution["status"] in ("SUCCEEDED", "FAILED") else None

    execution = await eventually(done)
    execution["id"] = execution_id
    return execution


async def new_key(api: GraphQLClient, member: Member, secret: str) -> str:
    variables = {"input": {"provider": "acme-api", "name": "Acme", "secret": secret}}
    created = (await api.ok(CREATE_KEY, variables, as_=member))["createProviderKey"]
    assert created["__typename"] == "ProviderKeyPayload", created
    key_id: str = created["providerKey"]["id"]
    return key_id


def step(execution: dict[str, Any], node_id: str) -> dict[str, Any]:
    found: dict[str, Any] = next(s for s in execution["steps"] if s["nodeId"] == node_id)
    return found


async def test_a_call_outputs_the_status_headers_and_parsed_json_body(
    api: GraphQLClient, members: Members, echo: EchoServer
) -> None:
    # given
    owner = await members.tenant()
    definition = call(
        method="post", url=echo.url("/echo?x=1"), headers={"X-Trace": "t-1"}, body={"a": 1}
    )
    # when
    execution = await ran(api, owner, definition)
    # then
    assert execution["status"] == "SUCCEEDED", execution
    output = step(execution, "call")["output"]
    assert output["status"] == 200
    assert output["headers"]["content-type"] == "application/json"
    assert output["body"]["method"] == "POST"
    assert output["body"]["path"] == "/echo?x=1"
    assert output["body"]["body"] == '{"a":1}'
    assert output["body"]["headers"]["X-Trace"] == "t-1"
    assert output["body"]["headers"]["Content-Type"] == "application/json"
    # and the next node received it
    assert execution["output"] == {**output, "after": True}
    # a text body stays text
    text = await ran(api, owner, call(url=echo.url("/text")))
    assert step(text, "call")["output"]["body"] == "plain text: é"


async def test_a_status_outside_2xx_fails_the_step_unless_fail_on_error_is_false(
    api: GraphQLClient, members: Members, echo: EchoServer
) -> None:
    owner = await members.tenant()
    failed = await ran(api, owner, call(url=echo.url("/status/404")))
    assert (failed["status"], failed["error"]) == ("FAILED", "The server answered 404 Not Found")
    assert [(s["nodeId"], s["status"]) for s in failed["steps"]] == [("call", "FAILED")]
    passed = await ran(api, owner, call(url=echo.url("/status/503"), failOnError=False))
    assert passed["status"] == "SUCCEEDED"
    assert step(passed, "call")["output"]["status"] == 503
    assert passed["output"]["body"] == {"status": 503}


async def test_a_slow_server_fails_the_step_after_its_timeout(
    api: GraphQLClient, members: Members, echo: EchoServer
) -> None:
    owner = await members.tenant()
    started = time.monotonic()
    execution = await ran(api, owner, call(url=echo.url("/slow?ms=4000"), timeoutMs=300))
    assert (execution["status"], execution["error"]) == (
        "FAILED",
        "The request timed out after 300 ms",
    )
    assert time.monotonic() - started < 3.5  # the step did not wait for the server


@pytest.mark.parametrize(
    ("target", "error"),
    [
        ("http://127.0.0.2:{port}/echo", "Refused: 127.0.0.2 is a loopback address"),
        ("http://[::1]:{port}/echo", "Refused: ::1 is a loopback address"),
        ("http://0.0.0.0:{port}/echo", "Refused: 0.0.0.0 is a private address"),
        (
            "http://metadata.google.internal/computeMetadata/v1/",
            "Refused: metadata.google.internal is a cloud metadata endpoint",
        ),
    ],
)
async def test_private_addresses_are_refused_directly_and_after_a_redirect(
    api: GraphQLClient, members: Members, echo: EchoServer, target: str, error: str
) -> None:
    owner = await members.tenant()
    url = target.format(port=echo.base_url.rsplit(":", 1)[1])
    direct = await ran(api, owner, call(url=url))
    assert (direct["status"], direct["error"]) == ("FAILED", error)
    seen = len(echo.requests)
    redirected = await ran(api, owner, call(url=echo.url(f"/redirect?to={quote(url, safe='')}")))
    assert (redirected["status"], redirected["error"]) == ("FAILED", error)
    assert len(echo.requests) == seen + 1  # the redirect itself, nothing after it


async def test_a_provider_key_is_sent_audited_and_never_shown(
    api: GraphQLClient,
    members: Members,
    echo: EchoServer,
    sessions: SessionFactory,
    caplog: pytest.LogCaptureFixture,
) -> None:
    # given every logger at DEBUG, and a key whose secret the echo server will reflect
    capture_every_logger(caplog)
    owner = await members.tenant()
    secret = f"sk-live-{secrets.token_urlsafe(24)}"
    key_id = await new_key(api, owner, secret)
    # when one run sends it as a bearer token and another in a header of its own
    bearer = await ran(api, owner, call(method="POST", url=echo.url("/echo"), providerKeyId=key_id))
    custom_definition = call(url=echo.url("/echo"), providerKeyId=key_id, authHeader="X-Api-Key")
    custom = await ran(api, owner, custom_definition)
    # then the server received it
    assert bearer["status"] == custom["status"] == "SUCCEEDED"
    received = [r.headers for r in echo.requests[-2:]]
    assert received[0]["Authorization"] == f"Bearer {secret}"
    assert received[1]["X-Api-Key"] == secret
    assert "Authorization" not in received[1]
    # and the outputs show where it was echoed, redacted
    output = step(bearer, "call")["output"]
    assert output["body"]["headers"]["Authorization"] == "Bearer [redacted]"
    assert output["headers"]["x-echo-authorization"] == "Bearer [redacted]"
    assert step(custom, "call")["output"]["body"]["headers"]["X-Api-Key"] == "[redacted]"
    # and nowhere is the secret: outputs, errors, events, logs
    async with sessions.tenant_reader(owner.tenant_id) as session:
        stored_events = (await session.exec(select(models.ExecutionEvent))).all()
    shown = [str(bearer), str(custom), *(str(event.step) for event in stored_events)]
    shown += [text_of(record) for record in caplog.records]
    assert stored_events
    assert not [text for text in shown if secret in text]
    # and each use wrote its audit row, on behalf of the member who ran it
    uses = (await api.ok(KEY_USES, {"key": key_id}, as_=owner))["auditLogs"]["edges"]
    assert len(uses) == 2
    for use, execution in zip(uses, (custom, bearer), strict=True):  # newest first
        assert use["node"]["resourceId"] == key_id
        assert use["node"]["actor"]["id"] == encode_global_id("User", owner.user_id)
        assert use["node"]["details"]["nodeId"] == "call"
        assert use["node"]["details"]["executionId"] == str(key_of(execution["id"]))


async def test_another_tenants_key_a_malformed_id_and_a_revoked_key_are_all_missing(
    api: GraphQLClient, members: Members, echo: EchoServer, sessions: SessionFactory
) -> None:
    # given tenant B's key, and a key of A's that was revoked
    a, b = await members.tenant(plan=Plan.PRO), await members.tenant()
    theirs = await new_key(api, b, "sk-theirs-" + "t" * 20)
    revoked = await new_key(api, a, "sk-revoked-" + "r" * 20)
    assert (await api.ok(REVOKE_KEY, {"id": revoked}, as_=a))["revokeProviderKey"]
    seen = len(echo.requests)
    # when A's workflows name each of them
    for key_id in (theirs, revoked, "garbage", encode_global_id("Workflow", uuid.uuid4())):
        execution = await ran(api, a, call(url=echo.url("/echo"), providerKeyId=key_id))
        # then each fails the same way, before any request is made
        assert (execution["status"], execution["error"]) == ("FAILED", PROVIDER_KEY_MISSING)
    assert len(echo.requests) == seen
    # and nothing was used: no audit row in either tenant, B's key untouched
    for member in (a, b):
        data = await api.ok(KEY_USES, {"key": None}, as_=member)
        assert data["auditLogs"]["edges"] == []
    async with sessions.tenant_reader(b.tenant_id) as session:
        row = (
            await session.exec(
                select(models.ProviderKey).where(col(models.ProviderKey.id) == key_of(theirs))
            )
        ).one()
    assert row.last_used_at is None
