"""A provider secret appears in no response, no audit row, no stored column and no log line.

Every logger of the process is captured at DEBUG (SQLAlchemy then logs each statement with its
parameters) while a key is created, refused, listed, audited, used and revoked.
"""

from __future__ import annotations

import base64
import logging
import secrets
import traceback
import uuid
from typing import Any

import httpx
import pytest
import sqlalchemy as sa

from tenantflow.db.session import SessionFactory, execute
from tenantflow.enums import Plan
from tenantflow.schema.provider_keys import CreateProviderKeyInput
from tenantflow.secrets.envelope import KeyUnavailableError, MasterKeyring
from tenantflow.services.operations.provider_keys import use_provider_key
from tenantflow.settings import Settings
from tests.api.conftest import Members

CREATE = """
mutation($input: CreateProviderKeyInput!) {
  createProviderKey(input: $input) {
    __typename
    ... on ProviderKeyPayload { providerKey { id provider name maskedKey } }
    ... on Error { message }
    ... on ValidationError { fields { field message } }
  }
}
"""
READ = """
query {
  providerKeys { edges { node { id name maskedKey lastUsedAt isActive } } }
  auditLogs { edges { node { action details resourceId } } }
}
"""
REVOKE = "mutation($id: ID!) { revokeProviderKey(id: $id) { __typename } }"


def key_id_of(global_id: str) -> uuid.UUID:
    decoded = base64.urlsafe_b64decode(global_id + "=" * (-len(global_id) % 4)).decode()
    return uuid.UUID(decoded.partition(":")[2])


def capture_every_logger(caplog: pytest.LogCaptureFixture) -> None:
    """Every logger of the process at DEBUG, captured (some libraries set their own higher)."""
    caplog.set_level(logging.DEBUG)
    for name, logger in list(logging.root.manager.loggerDict.items()):
        if isinstance(logger, logging.Logger) and logger.level > logging.DEBUG:
            caplog.set_level(logging.DEBUG, logger=name)


def text_of(record: logging.LogRecord) -> str:
    parts = [record.getMessage(), repr(record.args), record.exc_text or ""]
    if record.exc_info and record.exc_info[1] is not None:
        parts.append("".join(traceback.format_exception(record.exc_info[1])))
    return "\n".join(parts)


async def test_a_provider_secret_never_leaves_the_vault(
    client: httpx.AsyncClient,
    sessions: SessionFactory,
    settings: Settings,
    caplog: pytest.LogCaptureFixture,
) -> None:
    # given: every logger at DEBUG (SQLAlchemy sets its own to WARNING on import), and a secret
    # whose every part is recognisable
    capture_every_logger(caplog)
    body = secrets.token_urlsafe(30)
    secret = f"sk-proj-{body}"
    fragments = [secret, body, body[:-4], body[4:20], secret.encode().hex()]
    owner = await Members(sessions, settings).tenant(plan=Plan.FREE)
    headers = owner.headers
    responses: list[str] = []

    async def post(query: str, variables: dict[str, Any]) -> dict[str, Any]:
        response = await client.post(
            "/graphql", json={"query": query, "variables": variables}, headers=headers
        )
        responses.append(response.text)
        payload: dict[str, Any] = response.json()
        return payload

    def key_input(**overrides: str) -> dict[str, Any]:
        return {"input": {"provider": "openai", "name": "Prod", "secret": secret, **overrides}}

    # when: it is stored, refused in invalid and over-quota requests, read about, used and revoked
    created = await post(CREATE, key_input())
    key = created["data"]["createProviderKey"]["providerKey"]
    invalid = await post(CREATE, key_input(provider="Not A Slug", name=""))
    assert invalid["data"]["createProviderKey"]["__typename"] == "ValidationError"
    for n in range(2):
        await post(CREATE, key_input(name=f"k{n}"))
    over = await post(CREATE, key_input(name="over"))
    assert over["data"]["createProviderKey"]["__typename"] == "QuotaExceededError"
    keyring = MasterKeyring(settings.master_keys)
    used = await use_provider_key(
        db=sessions.for_tenant(owner.tenant_id),
        keyring=keyring,
        key_id=key_id_of(key["id"]),
        user_id=owner.user_id,
        details={"secret": secret, "executionId": str(uuid.uuid4())},  # a careless caller
    )
    assert used == secret  # the one place it is handed out
    with pytest.raises(KeyUnavailableError) as failed:
        await use_provider_key(
            db=sessions.for_tenant(owner.tenant_id),
            keyring=MasterKeyring([secrets.token_urlsafe(32)]),
            key_id=key_id_of(key["id"]),
        )
    logging.getLogger("tenantflow.test").exception("a failed use", exc_info=failed.value)
    read = await post(READ, {})
    assert len(read["data"]["auditLogs"]["edges"]) == 4  # 3 creates and 1 use
    await post(REVOKE, {"id": key["id"]})

    # then: the capture really saw the work (the test could fail)...
    logged = [text_of(record) for record in caplog.records]
    assert any("INSERT INTO provider_keys" in text for text in logged)
    assert any("INSERT INTO audit_logs" in text for text in logged)
    assert key["maskedKey"] == f"sk-proj-\u2026{body[-4:]}"
    # ...and the secret is in none of it
    async with sessions.tenant_reader(owner.tenant_id) as session:
        stored = [
            repr(tuple(row))
            for table in ("audit_logs", "provider_keys", "tenant_data_keys")
            for row in (
                await execute(
                    session,
                    sa.text(f"SELECT * FROM {table} WHERE tenant_id = :t").bindparams(
                        sa.bindparam("t", owner.tenant_id, type_=sa.Uuid())
                    ),
                )
            ).all()
        ]
    assert len(stored) == 5 + 3 + 1  # audit rows (3 creates, a use, a revoke), keys, data key
    places = {"responses": responses, "logs": logged, "database": stored}
    for place, texts in places.items():
        for text in texts:
            for fragment in fragments:
                assert fragment not in text, f"a part of the secret is in the {place}"


def test_the_mutation_input_keeps_its_secret_out_of_its_repr() -> None:
    # Tracebacks and debug output print arguments with repr().
    given = CreateProviderKeyInput(provider="openai", name="Prod", secret="sk-do-not-print-me")
    assert "do-not-print-me" not in repr(given)
    assert "openai" in repr(given)
