"""Credentials -> Principal, on every request.

The role comes from the membership (or the API key) as it is now, and the tenant's status and the
sign-in session are checked, so a removed member, a changed role, a revoked key or session, a
changed password or a deleted tenant takes effect on the next request in every server process.
With the cache on (tenantflow/cache), a principal checked once is reused until a write moves one
of the versions it was checked under: every such revocation is a write.
"""

from __future__ import annotations

import time
import uuid
from dataclasses import dataclass, field
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy import update
from sqlmodel import col

from tenantflow.auth.principal import Principal
from tenantflow.auth.secrets import hash_token, looks_like_api_key
from tenantflow.auth.tokens import AccessClaims, AccessTokenCodec
from tenantflow.cache.principals import PrincipalCache
from tenantflow.cache.versions import CacheVersions, Versions
from tenantflow.db import narrow_paths
from tenantflow.db.models import ApiKey, Membership, RefreshTokenFamily, Tenant, User
from tenantflow.db.session import SessionFactory, TenantDb, execute
from tenantflow.db.types import utcnow
from tenantflow.enums import TenantStatus
from tenantflow.observability import metrics
from tenantflow.services.tenants.trials import effective_status, end_trial_if_due

BEARER = "bearer "
# lastUsedAt is a hint, not an audit: write it at most this often per key and process.
LAST_USED_WRITE_INTERVAL_S = 60.0


def bearer_token(authorization: str | None) -> str | None:
    if not authorization or authorization[: len(BEARER)].lower() != BEARER:
        return None
    token = authorization[len(BEARER) :].strip()
    return token or None


def connection_authorization(params: object) -> str | None:
    """The `authorization` entry of a websocket's connection_init payload, its key in any case
    (GraphiQL sends its Headers tab, `{"Authorization": …}`, as this payload)."""
    if not isinstance(params, dict):
        return None
    for key, value in params.items():
        if isinstance(key, str) and key.lower() == "authorization" and isinstance(value, str):
            return value
    return None


# Who an access token stands for, as things are now: built once, bound per request.
_ACCESS_TOKEN_SQL = (
    sa.select(
        col(Membership.role),
        col(Tenant.status),
        col(Tenant.trial_ends_at),
        col(Tenant.plan),
        col(User.sessions_valid_after),
        col(RefreshTokenFamily.created_at),
        col(RefreshTokenFamily.revoked_at),
    )
    .join(Tenant, col(Tenant.id) == col(Membership.tenant_id))
    .join(User, col(User.id) == col(Membership.user_id))
    .join(
        RefreshTokenFamily,
        (col(RefreshTokenFamily.id) == sa.bindparam("session_id", type_=sa.Uuid()))
        & (col(RefreshTokenFamily.user_id) == col(Membership.user_id)),
    )
    .where(col(Membership.user_id) == sa.bindparam("user_id", type_=sa.Uuid()))
)


@dataclass(frozen=True, slots=True)
class Resolved:
    """A request's principal, its tenant's handle, and the cache versions read before the
    principal was (None: nothing of this request is cached)."""

    principal: Principal
    db: TenantDb
    versions: Versions | None = None


@dataclass(frozen=True, slots=True)
class _Checked:
    principal: Principal
    # The principal may change without a write when the tenant's trial ends.
    fresh_until: datetime | None


@dataclass
class CredentialResolver:
    sessions: SessionFactory
    codec: AccessTokenCodec
    # Principals kept between requests (with Redis only; tenantflow/cache/setup.py).
    cache: PrincipalCache | None = None
    # The versions a request's answers are kept under, when the principal cache does not read
    # them: after the check, before any of the request's data is read.
    versions: CacheVersions | None = None
    _last_used_writes: dict[uuid.UUID, float] = field(default_factory=dict)

    async def resolve(self, authorization: str | None) -> Principal | None:
        """The principal of an `Authorization` header value; None for missing or bad credentials."""
        resolved = await self.resolve_with_db(authorization, shared_reads=False)
        return resolved.principal if resolved else None

    async def resolve_with_db(
        self, authorization: str | None, *, shared_reads: bool = True
    ) -> Resolved | None:
        """The principal and its tenant's handle; with `shared_reads` (an HTTP request's), a check
        in the database runs in the reading transaction the rest of the request goes on with."""
        token = bearer_token(authorization)
        if token is None:
            return None
        if looks_like_api_key(token):
            resolved = await self._api_key(token, shared_reads=shared_reads)
        else:
            resolved = await self._bearer(token, shared_reads=shared_reads)
        if resolved is None or resolved.versions is not None or self.versions is None:
            return resolved
        principal = resolved.principal
        read = await self.versions.read(principal.tenant_id, principal.user_id)
        return Resolved(principal, resolved.db, read[0] if read else None)

    async def _bearer(self, token: str, *, shared_reads: bool) -> Resolved | None:
        claims = self.codec.verify(token)
        if claims is None:
            return None
        db = self.sessions.for_tenant(claims.tenant_id, shared_reads=shared_reads)
        lookup = None
        if self.cache is not None:
            lookup = await self.cache.for_session(
                claims.tenant_id, claims.user_id, claims.session_id
            )
            if lookup.principal is not None:
                metrics.CACHE_HITS.labels("principals").inc()
                return Resolved(lookup.principal, db, lookup.versions)
            metrics.CACHE_MISSES.labels("principals").inc()
        checked = await self._access_token(claims, db)
        if checked is None:
            await db.aclose()
            return None
        if self.cache is not None and lookup is not None:
            await self.cache.keep(lookup, checked.principal, fresh_until=checked.fresh_until)
        return Resolved(checked.principal, db, lookup.versions if lookup else None)

    async def _access_token(self, claims: AccessClaims, db: TenantDb) -> _Checked | None:
        parameters = {"session_id": claims.session_id, "user_id": claims.user_id}
        async with db.reader() as session:
            row = (await execute(session, _ACCESS_TOKEN_SQL, parameters)).first()
        if row is None:
            return None  # no longer a member, or the session is gone
        role, status, trial_ends_at, plan, valid_after, started, revoked = tuple(row)
        if status is TenantStatus.DELETED or revoked is not None:
            return None
        if started < valid_after:
            return None  # the password changed since this session began
        principal = Principal(
            tenant_id=claims.tenant_id,
            role=role,
            tenant_status=await self._status(claims.tenant_id, status, trial_ends_at),
            plan=plan,
            user_id=claims.user_id,
            session_id=claims.session_id,
        )
        return _Checked(principal, _trial_end(status, trial_ends_at))

    async def _api_key(self, key: str, *, shared_reads: bool) -> Resolved | None:
        key_hash = hash_token(key)
        lookup = None
        if self.cache is not None:
            lookup = await self.cache.for_api_key(key_hash)
            if lookup.principal is not None:
                metrics.CACHE_HITS.labels("principals").inc()
                principal = lookup.principal
                assert principal.api_key_id is not None
                await self._touch_api_key(principal.tenant_id, principal.api_key_id)
                db = self.sessions.for_tenant(principal.tenant_id, shared_reads=shared_reads)
                return Resolved(principal, db, lookup.versions)
            metrics.CACHE_MISSES.labels("principals").inc()
        checked = await self._check_api_key(key_hash)
        if checked is None:
            return None
        principal = checked.principal
        if self.cache is not None and lookup is not None:
            await self.cache.keep(lookup, principal, fresh_until=checked.fresh_until)
            await self.cache.note_tenant(lookup, principal.tenant_id)
        db = self.sessions.for_tenant(principal.tenant_id, shared_reads=shared_reads)
        return Resolved(principal, db, lookup.versions if lookup else None)

    async def _check_api_key(self, key_hash: str) -> _Checked | None:
        async with self.sessions.global_reader() as session:
            match = await narrow_paths.find_api_key(session, key_hash)
            if match is None or match.revoked_at is not None:
                return None
            tenant = await session.get(Tenant, match.tenant_id)
        if tenant is None or tenant.status is TenantStatus.DELETED:
            return None
        await self._touch_api_key(match.tenant_id, match.id)
        principal = Principal(
            tenant_id=match.tenant_id,
            role=match.role,
            tenant_status=await self._status(tenant.id, tenant.status, tenant.trial_ends_at),
            plan=tenant.plan,
            api_key_id=match.id,
            api_key_name=match.name,
        )
        return _Checked(principal, _trial_end(tenant.status, tenant.trial_ends_at))

    async def _status(
        self, tenant_id: uuid.UUID, status: TenantStatus, trial_ends_at: datetime | None
    ) -> TenantStatus:
        """The tenant's status as it is in effect; an ended trial is suspended (and persisted)."""
        effective = effective_status(status, trial_ends_at)
        if effective is not status:
            await end_trial_if_due(self.sessions.for_tenant(tenant_id))
        return effective

    async def _touch_api_key(self, tenant_id: uuid.UUID, key_id: uuid.UUID) -> None:
        now = time.monotonic()
        if now - self._last_used_writes.get(key_id, -LAST_USED_WRITE_INTERVAL_S) < (
            LAST_USED_WRITE_INTERVAL_S
        ):
            return
        self._last_used_writes[key_id] = now
        async with self.sessions.for_tenant(tenant_id).transaction() as session:
            await session.exec(
                update(ApiKey).where(col(ApiKey.id) == key_id).values(last_used_at=utcnow())
            )


def _trial_end(status: TenantStatus, trial_ends_at: datetime | None) -> datetime | None:
    return trial_ends_at if status is TenantStatus.TRIAL else None
