"""`tenantflow purge` and `tenantflow rewrap-keys`, run as an operator runs them, on both databases.

Data is made through the API (provider keys encrypted by the server itself); the commands run
through the CLI entry point, on the owner connection, in a thread of their own (they start their own
event loop).
"""

from __future__ import annotations

import asyncio
import base64
import secrets
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path

import httpx
import pytest
import sqlalchemy as sa
from asgi_lifespan import LifespanManager
from sqlmodel import select

from tenantflow import cli
from tenantflow.app import build_app
from tenantflow.db import models
from tenantflow.db.session import SessionFactory, execute
from tenantflow.db.types import utcnow
from tenantflow.enums import ExecutionStatus, Plan, TenantStatus
from tenantflow.secrets.envelope import (
    DecryptionError,
    KeyUnavailableError,
    MasterKey,
    MasterKeyring,
    WrappedKey,
    decrypt_secret,
)
from tenantflow.services.errors import NotFound
from tenantflow.services.operations.data_keys import DataKeyMissingError, open_data_key
from tenantflow.services.operations.provider_keys import use_provider_key
from tenantflow.settings import Settings
from tests.api.conftest import GraphQLClient, Member, Members
from tests.factories import DEFINITION, create_tenant
from tests.pg_deployments import PostgresDatabase

CREATE_KEY = """
mutation($input: CreateProviderKeyInput!) {
  createProviderKey(input: $input) {
    __typename ... on ProviderKeyPayload { providerKey { id } }
  }
}
"""

Operator = Callable[..., Awaitable[tuple[int, str, str]]]


def with_keys(settings: Settings, *keys: str) -> Settings:
    """The same deployment configured with other master keys (newest first)."""
    return Settings(
        database_url=settings.database_url,
        migration_database_url=settings.migration_database_url,
        database_role_prefix=settings.database_role_prefix,
        data_dir=settings.data_dir,
        secret_key=settings.secret_key,
        encryption_keys=list(keys),
        executor_workers=settings.executor_workers,
    )


@asynccontextmanager
async def api(settings: Settings) -> AsyncIterator[GraphQLClient]:
    """A running server with `settings`."""
    async with LifespanManager(build_app(settings)) as manager:
        transport = httpx.ASGITransport(app=manager.app)
        async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as http:
            yield GraphQLClient(http)


@pytest.fixture
def operator(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], settings: Settings
) -> Operator:
    """Runs `tenantflow <argv>` with the deployment's configuration; returns (code, out, err)."""

    async def run(*argv: str, keys: list[str] | None = None) -> tuple[int, str, str]:
        environment = {
            "TENANTFLOW_DATABASE_URL": settings.database_url,
            "TENANTFLOW_MIGRATION_DATABASE_URL": settings.migration_database_url or "",
            "TENANTFLOW_SECRET_KEY": settings.secret_key or "",
            "TENANTFLOW_ENCRYPTION_KEYS": ",".join(keys or settings.encryption_keys),
            "TENANTFLOW_DATA_DIR": str(settings.data_dir),
            "TENANTFLOW_TENANT_RETENTION_DAYS": "30",
            "TENANTFLOW_EVENT_RETENTION_DAYS": "7",
            "TENANTFLOW_EXECUTION_RETENTION_DAYS": "90",
        }
        for name, value in environment.items():
            monkeypatch.setenv(name, value)
        capsys.readouterr()
        code = await asyncio.to_thread(cli.main, list(argv))
        out, err = capsys.readouterr()
        return code, out, err

    return run


def key_id_of(global_id: str) -> uuid.UUID:
    decoded = base64.urlsafe_b64decode(global_id + "=" * (-len(global_id) % 4)).decode()
    return uuid.UUID(decoded.partition(":")[2])


async def create_key(gql: GraphQLClient, member: Member, secret: str, name: str = "k") -> uuid.UUID:
    data = await gql.ok(
        CREATE_KEY, {"input": {"provider": "openai", "name": name, "secret": secret}}, as_=member
    )
    return key_id_of(data["createProviderKey"]["providerKey"]["id"])


async def use(
    sessions: SessionFactory, keys: MasterKeyring, tenant_id: uuid.UUID, key_id: uuid.UUID
) -> str:
    return await use_provider_key(db=sessions.for_tenant(tenant_id), keyring=keys, key_id=key_id)


async def mark_deleted(sessions: SessionFactory, tenant_id: uuid.UUID, days_ago: int) -> None:
    async with sessions.global_transaction() as session:
        tenant = await session.get(models.Tenant, tenant_id)
        assert tenant is not None
        tenant.status = TenantStatus.DELETED
        tenant.deleted_at = utcnow() - timedelta(days=days_ago)
        session.add(tenant)


async def data_key_rows(
    sessions: SessionFactory, tenant_ids: list[uuid.UUID]
) -> dict[uuid.UUID, models.TenantDataKey]:
    found = {}
    for tenant_id in tenant_ids:
        async with sessions.tenant_reader(tenant_id) as session:
            row = (await session.exec(select(models.TenantDataKey))).first()
        if row is not None:
            found[tenant_id] = row
    return found


async def every_tenant(sessions: SessionFactory) -> list[uuid.UUID]:
    async with sessions.global_reader() as session:
        return list((await session.exec(select(models.Tenant.id))).all())


def fingerprint(key: str) -> str:
    return MasterKey.from_config(key).key_id


def raw_key(key: str) -> bytes:
    raw = MasterKey.from_config(key)._key
    assert isinstance(raw, bytes)
    return raw


# ---------------------------------------------------------------- purge


@dataclass
class Copied:
    """A purged tenant's secrets as a backup (or an attacker with an old dump) still holds them."""

    tenant_id: uuid.UUID
    ciphertexts: dict[uuid.UUID, bytes]
    wrapped: WrappedKey


async def copy_aside(sessions: SessionFactory, tenant_id: uuid.UUID) -> Copied:
    async with sessions.tenant_reader(tenant_id) as session:
        keys = (await session.exec(select(models.ProviderKey))).all()
        data_key = (await session.exec(select(models.TenantDataKey))).one()
    return Copied(
        tenant_id,
        {row.id: bytes(row.ciphertext) for row in keys},
        WrappedKey(bytes(data_key.wrapped_key), data_key.master_key_id),
    )


async def add_history(sessions: SessionFactory, tenant_id: uuid.UUID) -> dict[str, uuid.UUID]:
    """Executions and events on both sides of their retention (7 and 90 days)."""
    now = utcnow()
    async with sessions.tenant_transaction(tenant_id) as session:
        workflow = models.Workflow(name="Flow", definition=DEFINITION)
        session.add(workflow)
        await session.flush()

        def execution(status: ExecutionStatus, days_ago: int, finished: bool) -> models.Execution:
            return models.Execution(
                workflow_id=workflow.id,
                workflow_version=1,
                definition=DEFINITION,
                status=status,
                queued_at=now - timedelta(days=days_ago),
                finished_at=now - timedelta(days=days_ago) if finished else None,
            )

        old = execution(ExecutionStatus.SUCCEEDED, 91, finished=True)
        recent = execution(ExecutionStatus.FAILED, 89, finished=True)
        stuck = execution(ExecutionStatus.RUNNING, 120, finished=False)  # not finished: kept
        session.add_all([old, recent, stuck])
        await session.flush()
        step = models.ExecutionStep(
            execution_id=old.id, node_id="a", node_type="noop", status=ExecutionStatus.SUCCEEDED
        )
        events = [
            models.ExecutionEvent(
                seq=seq,
                execution_id=of.id,
                workflow_id=workflow.id,
                status=of.status,
                at=now - timedelta(days=days_ago),
            )
            for seq, of, days_ago in ((1, old, 91), (2, recent, 8), (3, recent, 6))
        ]
        session.add_all([step, *events])
        await session.flush()
        return {
            "old": old.id,
            "recent": recent.id,
            "stuck": stuck.id,
            "step": step.id,
            "old_event": events[1].id,
            "fresh_event": events[2].id,
        }


async def count(
    sessions: SessionFactory, tenant_id: uuid.UUID, table: str, row_id: uuid.UUID | None = None
) -> int:
    sql = f"SELECT count(*) FROM {table} WHERE tenant_id = :tenant"
    binds = [sa.bindparam("tenant", tenant_id, type_=sa.Uuid())]
    if row_id is not None:
        sql += " AND id = :row"
        binds.append(sa.bindparam("row", row_id, type_=sa.Uuid()))
    async with sessions.tenant_reader(tenant_id) as session:
        result = await execute(session, sa.text(sql).bindparams(*binds))
        return int(result.scalar_one())


async def test_purge_removes_expired_tenants_and_history_and_shreds_their_secrets(
    client: httpx.AsyncClient,
    sessions: SessionFactory,
    settings: Settings,
    operator: Operator,
) -> None:
    # given: a live tenant, one deleted 31 days ago and one deleted yesterday, each with secrets
    gql, members = GraphQLClient(client), Members(sessions, settings)
    keys = MasterKeyring(settings.master_keys)
    live, expired, recent = [await members.tenant(plan=Plan.STARTER) for _ in range(3)]
    secret_of: dict[uuid.UUID, str] = {}
    for tenant in (live, expired, recent):
        for n in range(2):
            secret = f"sk-{tenant.tenant_id.hex}-{n}-{secrets.token_urlsafe(12)}"
            secret_of[await create_key(gql, tenant, secret, name=f"k{n}")] = secret
    # and a tenant with a row in every tenant-owned table, deleted 40 days ago
    everything = await create_tenant(sessions, status=TenantStatus.DELETED, deleted_days_ago=40)
    await mark_deleted(sessions, expired.tenant_id, days_ago=31)
    await mark_deleted(sessions, recent.tenant_id, days_ago=1)
    history = await add_history(sessions, live.tenant_id)
    backup = await copy_aside(sessions, expired.tenant_id)
    # the control: before the purge, the copy decrypts
    data_key = keys.unwrap(backup.wrapped, tenant_id=expired.tenant_id)
    for key_id, blob in backup.ciphertexts.items():
        opened = decrypt_secret(data_key, blob, tenant_id=expired.tenant_id, record_id=key_id)
        assert opened == secret_of[key_id]

    # when
    code, out, err = await operator("purge")

    # then: the command says what it removed
    assert (code, err) == (0, "")
    assert "purged 2 deleted tenant(s)" in out
    assert str(expired.tenant_id) in out
    assert str(everything.tenant_id) in out
    assert str(recent.tenant_id) not in out
    assert "removed 2 execution event(s)" in out
    assert "removed 1 finished execution(s)" in out

    # the expired tenants are gone with every row they owned, audit rows and data key included
    async with sessions.global_reader() as session:
        assert await session.get(models.Tenant, expired.tenant_id) is None
        assert await session.get(models.Tenant, everything.tenant_id) is None
    for table in everything.ids:
        assert await count(sessions, everything.tenant_id, table) == 0, table
    for table in ("provider_keys", "tenant_data_keys", "audit_logs", "memberships"):
        assert await count(sessions, expired.tenant_id, table) == 0, table
    # the others are whole; the recently deleted one waits for its retention
    for tenant in (live, recent):
        assert await count(sessions, tenant.tenant_id, "provider_keys") == 2
        assert await count(sessions, tenant.tenant_id, "audit_logs") == 2
    # history: only what is past its retention went
    assert await count(sessions, live.tenant_id, "executions", history["old"]) == 0
    assert await count(sessions, live.tenant_id, "execution_steps", history["step"]) == 0
    assert await count(sessions, live.tenant_id, "executions", history["recent"]) == 1
    assert await count(sessions, live.tenant_id, "executions", history["stuck"]) == 1
    assert await count(sessions, live.tenant_id, "execution_events", history["old_event"]) == 0
    assert await count(sessions, live.tenant_id, "execution_events", history["fresh_event"]) == 1

    # crypto-shredding: the live database no longer holds the key...
    async with sessions.tenant_reader(expired.tenant_id) as session:
        with pytest.raises(DataKeyMissingError):
            await open_data_key(session, keyring=keys, tenant_id=expired.tenant_id)
    with pytest.raises(NotFound):
        await use(sessions, keys, expired.tenant_id, next(iter(backup.ciphertexts)))
    # ...and no key the system still has opens the copied ciphertexts: neither any tenant's data
    # key nor any master key
    remaining = await data_key_rows(sessions, await every_tenant(sessions))
    assert set(remaining) == {live.tenant_id, recent.tenant_id}
    candidates = [
        keys.unwrap(WrappedKey(r.wrapped_key, r.master_key_id), tenant_id=t)
        for t, r in remaining.items()
    ]
    candidates += [raw_key(key) for key in settings.master_keys]
    for key_id, blob in backup.ciphertexts.items():
        for candidate in candidates:
            with pytest.raises(DecryptionError):
                decrypt_secret(candidate, blob, tenant_id=expired.tenant_id, record_id=key_id)
    # (the candidates are real keys: the live tenant's opens the live tenant's secrets)
    for key_id, secret in secret_of.items():
        if await count(sessions, live.tenant_id, "provider_keys", key_id):
            assert await use(sessions, keys, live.tenant_id, key_id) == secret

    # a backup made before the purge still holds the wrapped data key: it stays readable with
    # the master key of that time, and becomes unreadable once that master key is retired
    assert keys.unwrap(backup.wrapped, tenant_id=expired.tenant_id) == data_key
    retired = MasterKeyring([secrets.token_urlsafe(32)])
    with pytest.raises(KeyUnavailableError):
        retired.unwrap(backup.wrapped, tenant_id=expired.tenant_id)

    # a second run finds nothing more to do
    code, out, _ = await operator("purge")
    assert code == 0
    assert "purged 0 deleted tenant(s)" in out
    assert "removed 0 execution event(s)" in out


@pytest.mark.postgresql
async def test_purge_on_postgresql_needs_the_owner_connection(
    clean_postgres: PostgresDatabase,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    monkeypatch.setenv("TENANTFLOW_DATABASE_URL", clean_postgres.runtime_url)
    monkeypatch.delenv("TENANTFLOW_MIGRATION_DATABASE_URL", raising=False)
    monkeypatch.setenv("TENANTFLOW_DATA_DIR", str(tmp_path))
    code = await asyncio.to_thread(cli.main, ["purge"])
    assert code == 2
    assert "TENANTFLOW_MIGRATION_DATABASE_URL is required" in capsys.readouterr().err


# ---------------------------------------------------------------- rewrap-keys


async def test_master_keys_rotate_without_losing_a_secret(
    sessions: SessionFactory, settings: Settings, operator: Operator
) -> None:
    k1 = settings.encryption_keys[0]
    k2 = secrets.token_urlsafe(32)
    members = Members(sessions, settings)
    secret_of: dict[tuple[uuid.UUID, uuid.UUID], str] = {}

    async def store(gql: GraphQLClient, tenant: Member, name: str) -> None:
        secret = f"sk-{name}-{secrets.token_urlsafe(16)}"
        secret_of[(tenant.tenant_id, await create_key(gql, tenant, secret, name=name))] = secret

    async def all_decrypt(keys: MasterKeyring) -> None:
        for (tenant_id, key_id), secret in secret_of.items():
            assert await use(sessions, keys, tenant_id, key_id) == secret

    # given: keys [K1]; two tenants store secrets
    a, b, c = [await members.tenant() for _ in range(3)]
    async with api(with_keys(settings, k1)) as gql:
        await store(gql, a, "a1")
        await store(gql, a, "a2")
        await store(gql, b, "b1")
    wrapped = await data_key_rows(sessions, [a.tenant_id, b.tenant_id])
    assert {row.master_key_id for row in wrapped.values()} == {fingerprint(k1)}

    # when: K2 goes in front; old wrappings still open, new tenants' keys are wrapped by K2
    async with api(with_keys(settings, k2, k1)) as gql:
        await store(gql, c, "c1")
        await store(gql, a, "a3")  # an existing data key is used as it is
    await all_decrypt(MasterKeyring([k2, k1]))
    assert (await data_key_rows(sessions, [c.tenant_id]))[c.tenant_id].master_key_id == (
        fingerprint(k2)
    )
    # (K2 alone cannot open a K1 wrapping yet: the rewrap below is what makes K1 retirable)
    with pytest.raises(KeyUnavailableError):
        await use(sessions, MasterKeyring([k2]), a.tenant_id, next(iter(secret_of))[1])

    code, out, err = await operator("rewrap-keys", keys=[k2, k1])

    # then: every data key is wrapped by K2...
    assert (code, err) == (0, "")
    assert f"rewrapped 2 tenant data key(s) under master key {fingerprint(k2)}" in out
    assert "1 already wrapped by it" in out
    rewrapped = await data_key_rows(sessions, [a.tenant_id, b.tenant_id, c.tenant_id])
    assert {row.master_key_id for row in rewrapped.values()} == {fingerprint(k2)}
    assert rewrapped[a.tenant_id].rewrapped_at is not None
    assert rewrapped[c.tenant_id].rewrapped_at is None
    for tenant_id in (a.tenant_id, b.tenant_id):
        assert rewrapped[tenant_id].wrapped_key != wrapped[tenant_id].wrapped_key
    # ...the data keys themselves did not change, so no secret was re-encrypted...
    assert MasterKeyring([k2]).unwrap(
        WrappedKey(rewrapped[a.tenant_id].wrapped_key, fingerprint(k2)), tenant_id=a.tenant_id
    ) == MasterKeyring([k1]).unwrap(
        WrappedKey(wrapped[a.tenant_id].wrapped_key, fingerprint(k1)), tenant_id=a.tenant_id
    )
    # ...and K1 can be retired: with [K2] alone every secret still decrypts
    await all_decrypt(MasterKeyring([k2]))
    async with api(with_keys(settings, k2)) as gql:
        await store(gql, b, "b2")
    await all_decrypt(MasterKeyring([k2]))

    # a second run has nothing to do
    code, out, _ = await operator("rewrap-keys", keys=[k2])
    assert code == 0
    assert "rewrapped 0 tenant data key(s)" in out
    assert "3 already wrapped by it" in out


async def test_rewrap_reports_keys_it_cannot_open_and_leaves_them_alone(
    sessions: SessionFactory, settings: Settings, operator: Operator, client: httpx.AsyncClient
) -> None:
    k1 = settings.encryption_keys[0]
    members = Members(sessions, settings)
    tenant = await members.tenant()
    key_id = await create_key(GraphQLClient(client), tenant, "sk-abcdefghijklmnopqrst")
    before = (await data_key_rows(sessions, [tenant.tenant_id]))[tenant.tenant_id]

    # K1 was dropped before the rewrap: the operator is told, and nothing is lost
    code, out, err = await operator("rewrap-keys", keys=[secrets.token_urlsafe(32)])

    assert code == 2
    assert "1 wrapped by a master key that is not configured" in out
    assert str(tenant.tenant_id) in out
    assert "some data keys were not rewrapped" in err
    after = (await data_key_rows(sessions, [tenant.tenant_id]))[tenant.tenant_id]
    assert (after.wrapped_key, after.master_key_id) == (before.wrapped_key, before.master_key_id)
    keys = MasterKeyring([k1])
    assert await use(sessions, keys, tenant.tenant_id, key_id) == "sk-abcdefghijklmnopqrst"
