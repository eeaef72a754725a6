"""The few lookups that must cross tenants, each named for its one purpose.

On PostgreSQL each is a SECURITY DEFINER function owned by `tenantflow_system` (migration 0003), so the
runtime role reaches other tenants' rows only through them and gets back only what the caller needs.
On SQLite (no RLS) the same lookups are plain queries with the same results.
Callers then continue in a session scoped to the tenant the lookup found.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection
from sqlmodel.ext.asyncio.session import AsyncSession

from tenantflow.db.types import UTCDateTime
from tenantflow.enums import Role

Executor = AsyncSession | AsyncConnection


@dataclass(frozen=True, slots=True)
class ApiKeyMatch:
    id: uuid.UUID
    tenant_id: uuid.UUID
    role: Role
    name: str
    revoked_at: datetime | None


@dataclass(frozen=True, slots=True)
class RefreshTokenMatch:
    id: uuid.UUID
    tenant_id: uuid.UUID
    family_id: uuid.UUID
    expires_at: datetime
    used_at: datetime | None


@dataclass(frozen=True, slots=True)
class InvitationMatch:
    id: uuid.UUID
    tenant_id: uuid.UUID
    email_normalized: str
    role: Role
    expires_at: datetime
    accepted_at: datetime | None
    revoked_at: datetime | None


@dataclass(frozen=True, slots=True)
class UserMembership:
    tenant_id: uuid.UUID
    role: Role
    created_at: datetime


@dataclass(frozen=True, slots=True)
class ClaimedExecution:
    tenant_id: uuid.UUID
    execution_id: uuid.UUID
    attempts: int


@dataclass(frozen=True)
class _Path:
    """One narrow path: the PostgreSQL function call and the equivalent SQLite query."""

    postgresql: str
    sqlite: str
    columns: dict[str, Any]
    params: dict[str, Any]

    def statement(self, dialect: str) -> tuple[sa.TextualSelect, list[str]]:
        """The statement for `dialect`, and the names of the parameters it binds."""
        sql = self.postgresql if dialect == "postgresql" else self.sqlite
        names = [name for name in self.params if f":{name}" in sql]
        binds = [sa.bindparam(name, type_=self.params[name]) for name in names]
        # Typed columns and binds: the same Python values on both databases.
        return sa.text(sql).bindparams(*binds).columns(**self.columns), names


_FIND_API_KEY = _Path(
    "SELECT * FROM tf_find_api_key(:key_hash)",
    "SELECT id, tenant_id, role, name, revoked_at FROM api_keys WHERE key_hash = :key_hash",
    {
        "id": sa.Uuid,
        "tenant_id": sa.Uuid,
        "role": sa.String,
        "name": sa.String,
        "revoked_at": UTCDateTime,
    },
    {"key_hash": sa.String},
)
_FIND_REFRESH_TOKEN = _Path(
    "SELECT * FROM tf_find_refresh_token(:token_hash)",
    "SELECT id, tenant_id, family_id, expires_at, used_at FROM refresh_tokens"
    " WHERE token_hash = :token_hash",
    {
        "id": sa.Uuid,
        "tenant_id": sa.Uuid,
        "family_id": sa.Uuid,
        "expires_at": UTCDateTime,
        "used_at": UTCDateTime,
    },
    {"token_hash": sa.String},
)
_FIND_INVITATION = _Path(
    "SELECT * FROM tf_find_invitation(:token_hash)",
    "SELECT id, tenant_id, email_normalized, role, expires_at, accepted_at, revoked_at"
    " FROM invitations WHERE token_hash = :token_hash",
    {
        "id": sa.Uuid,
        "tenant_id": sa.Uuid,
        "email_normalized": sa.String,
        "role": sa.String,
        "expires_at": UTCDateTime,
        "accepted_at": UTCDateTime,
        "revoked_at": UTCDateTime,
    },
    {"token_hash": sa.String},
)
_USER_MEMBERSHIPS = _Path(
    "SELECT * FROM tf_user_memberships(:user_id)",
    "SELECT tenant_id, role, created_at FROM memberships WHERE user_id = :user_id"
    " ORDER BY created_at, tenant_id",
    {"tenant_id": sa.Uuid, "role": sa.String, "created_at": UTCDateTime},
    {"user_id": sa.Uuid},
)
_CLAIM_EXECUTION = _Path(
    "SELECT * FROM tf_claim_execution(:worker, :lease_seconds)",
    # SQLite: the write lock taken at BEGIN IMMEDIATE serialises claimers.
    "UPDATE executions SET lease_owner = :worker, lease_expires_at = :lease_until,"
    " attempts = attempts + 1"
    " WHERE id = (SELECT id FROM executions"
    "   WHERE status IN ('QUEUED', 'RUNNING') AND (lease_owner IS NULL OR lease_expires_at < :now)"
    "   ORDER BY queued_at LIMIT 1)"
    " RETURNING tenant_id, id AS execution_id, attempts",
    {"tenant_id": sa.Uuid, "execution_id": sa.Uuid, "attempts": sa.Integer},
    {
        "worker": sa.String,
        "lease_seconds": sa.Integer,
        "now": UTCDateTime,
        "lease_until": UTCDateTime,
    },
)


async def _run(db: Executor, path: _Path, **params: Any) -> list[sa.Row[Any]]:
    # In a session, run on its connection: same transaction, and plain rows back.
    connection = db if isinstance(db, AsyncConnection) else await db.connection()
    statement, names = path.statement(connection.dialect.name)
    result = await connection.execute(statement, {name: params[name] for name in names})
    return list(result.all())


async def find_api_key(db: Executor, key_hash: str) -> ApiKeyMatch | None:
    rows = await _run(db, _FIND_API_KEY, key_hash=key_hash)
    if not rows:
        return None
    row = rows[0]
    return ApiKeyMatch(row.id, row.tenant_id, Role(row.role), row.name, row.revoked_at)


async def find_refresh_token(db: Executor, token_hash: str) -> RefreshTokenMatch | None:
    rows = await _run(db, _FIND_REFRESH_TOKEN, token_hash=token_hash)
    if not rows:
        return None
    row = rows[0]
    return RefreshTokenMatch(row.id, row.tenant_id, row.family_id, row.expires_at, row.used_at)


async def find_invitation(db: Executor, token_hash: str) -> InvitationMatch | None:
    rows = await _run(db, _FIND_INVITATION, token_hash=token_hash)
    if not rows:
        return None
    row = rows[0]
    return InvitationMatch(
        row.id,
        row.tenant_id,
        row.email_normalized,
        Role(row.role),
        row.expires_at,
        row.accepted_at,
        row.revoked_at,
    )


async def user_memberships(db: Executor, user_id: uuid.UUID) -> list[UserMembership]:
    rows = await _run(db, _USER_MEMBERSHIPS, user_id=user_id)
    return [UserMembership(row.tenant_id, Role(row.role), row.created_at) for row in rows]


async def claim_execution(
    db: Executor, *, worker: str, lease_seconds: int, now: datetime
) -> ClaimedExecution | None:
    """Lease the oldest claimable execution of any tenant: a fresh one, or one whose lease expired
    (its process died), which the caller resumes or fails. The caller commits."""
    rows = await _run(
        db,
        _CLAIM_EXECUTION,
        worker=worker,
        lease_seconds=lease_seconds,
        now=now,
        lease_until=now + timedelta(seconds=lease_seconds),
    )
    if not rows:
        return None
    row = rows[0]
    return ClaimedExecution(row.tenant_id, row.execution_id, row.attempts)
