"""Failed logins: a guesser elsewhere cannot lock the owner out, and a wrong password costs the
same work whether or not the email has an account (so its answer's time tells nothing)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

import httpx
import pytest
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from tenantflow.auth import passwords
from tenantflow.db.session import SessionFactory
from tests.api.auth_helpers import (
    LOG_IN,
    OTHER_PASSWORD,
    PASSWORD,
    audit_rows,
    key_of,
    new_email,
    signed_up,
)
from tests.api.conftest import GraphQLClient
from tests.api.test_dashboard_statements import StatementCounter
from tests.polling import eventually
from tests.protection.conftest import client_of


async def test_a_guesser_elsewhere_does_not_lock_the_owner_out(app: ASGIApp) -> None:
    # given an account, and a guesser at another address spending its failures and more
    async with client_of(app, "203.0.113.90") as owner:
        email = (await signed_up(owner))["viewer"]["user"]["email"]
    async with client_of(app, "198.51.100.66") as guesser:
        for _ in range(12):
            await guesser.http.post(
                "/graphql",
                json={
                    "query": LOG_IN,
                    "variables": {"input": {"email": email, "password": "x" * 12}},
                },
            )
        refused = await guesser.http.post(
            "/graphql",
            json={"query": LOG_IN, "variables": {"input": {"email": email, "password": PASSWORD}}},
        )
        assert refused.status_code == 429
    # when the owner logs in from their own address: then it works
    async with client_of(app, "203.0.113.90") as owner:
        data = await owner.ok(LOG_IN, {"input": {"email": email, "password": PASSWORD}})
    assert data["logIn"]["__typename"] == "AuthPayload"


class UntilAnswered:
    """The statements the app sent before its answer's last byte went out."""

    def __init__(self, app: ASGIApp, counter: StatementCounter) -> None:
        self.app = app
        self.counter = counter
        self.before_answer: list[str] = []

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        async def watching(message: Message) -> None:
            if message["type"] == "http.response.body" and not message.get("more_body"):
                self.before_answer = list(self.counter.statements)
            await send(message)

        await self.app(scope, receive, watching)


@pytest.fixture
def verified(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """The parameters of every Argon2 hash a password was verified against."""
    seen: list[str] = []
    original: Callable[[str, str], Awaitable[bool]] = passwords.verify_password

    async def recording(password_hash: str, password: str) -> bool:
        seen.append(password_hash.rsplit("$", 2)[0])  # $argon2id$v=19$m=…,t=…,p=…
        return await original(password_hash, password)

    monkeypatch.setattr(passwords, "verify_password", recording)
    return seen


async def test_a_wrong_password_does_the_same_work_for_known_and_unknown_emails(
    app: ASGIApp,
    gql: GraphQLClient,
    sessions: SessionFactory,
    verified: list[str],
) -> None:
    # given an account (its tenant's first login warms the process's caches)
    payload = await signed_up(gql)
    known = payload["viewer"]["user"]["email"]
    tenant_id = key_of(payload["viewer"]["tenant"]["id"])
    await gql.ok(LOG_IN, {"input": {"email": known, "password": OTHER_PASSWORD}})
    counter = StatementCounter(sessions.engine.sync_engine)
    watched = UntilAnswered(app, counter)
    transport = httpx.ASGITransport(app=watched, client=("203.0.113.95", 40000))
    answers: dict[str, tuple[list[str], list[str], Any]] = {}
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as http:
        with counter.listening():
            for label, email in (("known", known), ("unknown", new_email())):
                verified.clear()
                with counter.count():
                    # when
                    response = await http.post(
                        "/graphql",
                        json={
                            "query": LOG_IN,
                            "variables": {"input": {"email": email, "password": OTHER_PASSWORD}},
                        },
                    )
                answers[label] = (watched.before_answer, list(verified), response.json())
    # then: the same answer, the same statements before it, one Argon2 check of the same cost
    (known_sql, known_hashes, known_body), (unknown_sql, unknown_hashes, unknown_body) = (
        answers["known"],
        answers["unknown"],
    )
    assert known_body == unknown_body
    assert known_body["data"]["logIn"]["__typename"] == "InvalidCredentialsError"
    assert known_sql == unknown_sql
    assert known_hashes == unknown_hashes
    assert len(known_hashes) == 1

    # and the known account's failure is audited, after the answer
    async def audited() -> bool:
        return len(await audit_rows(sessions, tenant_id, "auth.login_failed")) == 2

    await eventually(audited)
