"""Sign-in sessions: a refresh-token family per sign-in, rotated refresh tokens, access tokens.

A family lives in the tenant its tokens are scoped to. The access token's `sid` names the family,
so revoking a family (log-out, reuse of a rotated token, a removed member) refuses its access tokens
on their next request too (tenantflow/auth/credentials.py checks it every time).
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import update
from sqlmodel import col
from sqlmodel.ext.asyncio.session import AsyncSession

from tenantflow.auth.secrets import hash_token, new_refresh_token
from tenantflow.auth.tokens import AccessTokenCodec
from tenantflow.db.models import RefreshToken, RefreshTokenFamily
from tenantflow.db.rows import updated_rows
from tenantflow.db.session import require_tenant
from tenantflow.db.types import utcnow
from tenantflow.events.commit_hook import access_changed


@dataclass(frozen=True, slots=True)
class SessionIssuer:
    """What issuing tokens needs: the signing codec and the refresh tokens' lifetime."""

    codec: AccessTokenCodec
    refresh_ttl_seconds: int


@dataclass(frozen=True, slots=True)
class IssuedTokens:
    access_token: str
    refresh_token: str
    expires_in: int
    session_id: uuid.UUID


async def start_session(
    session: AsyncSession,
    issuer: SessionIssuer,
    *,
    user_id: uuid.UUID,
    tenant_id: uuid.UUID,
    now: datetime | None = None,
) -> IssuedTokens:
    """A new family and its first tokens, added to `session` (scoped to `tenant_id`)."""
    family = RefreshTokenFamily(user_id=user_id, created_at=now or utcnow())
    session.add(family)
    await session.flush()  # the refresh token references the family
    return rotate_into(session, issuer, family_id=family.id, user_id=user_id, tenant_id=tenant_id)


def rotate_into(
    session: AsyncSession,
    issuer: SessionIssuer,
    *,
    family_id: uuid.UUID,
    user_id: uuid.UUID,
    tenant_id: uuid.UUID,
) -> IssuedTokens:
    """The next refresh token of a family, and a fresh access token."""
    now = utcnow()
    refresh_token = new_refresh_token()
    session.add(
        RefreshToken(
            family_id=family_id,
            token_hash=hash_token(refresh_token),
            created_at=now,
            expires_at=now + timedelta(seconds=issuer.refresh_ttl_seconds),
        )
    )
    access_token, _ = issuer.codec.issue(user_id=user_id, tenant_id=tenant_id, session_id=family_id)
    return IssuedTokens(
        access_token=access_token,
        refresh_token=refresh_token,
        expires_in=issuer.codec.ttl_seconds,
        session_id=family_id,
    )


async def claim_refresh_token(session: AsyncSession, token_id: uuid.UUID) -> bool:
    """Mark a refresh token used; False when it already was (then it is being reused).

    A conditional UPDATE, so that of two concurrent refreshes with one token only one wins.
    """
    statement = (
        update(RefreshToken)
        .where(col(RefreshToken.id) == token_id, col(RefreshToken.used_at).is_(None))
        .values(used_at=utcnow())
    )
    return await updated_rows(session, statement) == 1


async def revoke_sessions(
    session: AsyncSession,
    *,
    reason: str,
    family_id: uuid.UUID | None = None,
    user_id: uuid.UUID | None = None,
) -> int:
    """Revoke the session's tenant's families (one, a user's, or all); the number revoked."""
    statement = (
        update(RefreshTokenFamily)
        .where(col(RefreshTokenFamily.revoked_at).is_(None))
        .values(revoked_at=utcnow(), revoked_reason=reason)
    )
    if family_id is not None:
        statement = statement.where(col(RefreshTokenFamily.id) == family_id)
    if user_id is not None:
        statement = statement.where(col(RefreshTokenFamily.user_id) == user_id)
    revoked = await updated_rows(session, statement)
    if revoked:  # subscriptions opened with those sessions re-check at once
        access_changed(session, require_tenant(session))
    return revoked
