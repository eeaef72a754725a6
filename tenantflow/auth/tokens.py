"""Access tokens: short-lived HS256 JWTs that name a user, a tenant and a session.

Verification is deliberately narrow. One algorithm (HS256) and one key (ours) are accepted, whatever
the token's header says; `iss`, `aud`, `sub`, `tid`, `sid`, `jti`, `iat` and `exp` are all required
(marked essential in joserfc's claims registry, so a missing one is refused rather than skipped);
anything odd makes `verify` return None. The role is never carried in the token: it is read from the
membership on every request, so a changed role takes effect at once.
"""

from __future__ import annotations

import math
import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Final

from joserfc import jwt
from joserfc.jwk import OctKey
from joserfc.jws import JWSRegistry

ALGORITHM: Final = "HS256"
# HMAC-SHA256 keys shorter than the hash output weaken it; 32 bytes is RFC 7518's floor for HS256.
MIN_KEY_BYTES: Final = 32
# Our tokens are ~450 bytes. Refusing large input before any base64 or JSON work keeps a hostile
# Authorization header cheap to reject.
MAX_TOKEN_LENGTH: Final = 8 * 1024
# Tolerated clock difference between server processes, for `exp`, `iat` and `nbf` alike: a token
# issued by a host whose clock runs slightly ahead is not refused as "issued in the future", and an
# expired token is refused at most this many seconds late.
LEEWAY_SECONDS: Final = 5
# Header fields we never emit and that change how the signature is computed (RFC 7797 unencoded
# payloads) or demand extensions we do not implement: a token carrying them is not ours.
_FORBIDDEN_HEADERS: Final = frozenset({"crit", "b64"})
_UUID_CLAIMS: Final = ("sub", "tid", "sid", "jti")


@dataclass(frozen=True, slots=True)
class AccessClaims:
    user_id: uuid.UUID  # sub
    tenant_id: uuid.UUID  # tid
    session_id: uuid.UUID  # sid: the refresh-token family this access token belongs to
    token_id: uuid.UUID  # jti
    issued_at: datetime  # iat (aware UTC)
    expires_at: datetime  # exp (aware UTC)


class AccessTokenCodec:
    """Issues and verifies access tokens with one HMAC key."""

    def __init__(
        self,
        signing_key: str,
        *,
        ttl_seconds: int,
        issuer: str = "tenantflow",
        audience: str = "tenantflow-api",
    ) -> None:
        raw_key = signing_key.encode("utf-8")
        if len(raw_key) < MIN_KEY_BYTES:
            # Never echo the key: this message can end up in logs.
            raise ValueError(f"the token signing key must be at least {MIN_KEY_BYTES} bytes long")
        if ttl_seconds <= 0:
            raise ValueError("ttl_seconds must be positive")
        self._key = OctKey.import_key(raw_key)
        self._ttl = ttl_seconds
        self._issuer = issuer
        self._audience = audience
        # joserfc ignores the `algorithms` argument when a registry is passed, so the registry
        # itself must carry the allow-list; built once, shared by issue and verify.
        self._registry = JWSRegistry(algorithms=[ALGORITHM])

    @property
    def ttl_seconds(self) -> int:
        return self._ttl

    def issue(
        self,
        *,
        user_id: uuid.UUID,
        tenant_id: uuid.UUID,
        session_id: uuid.UUID,
        now: datetime | None = None,
    ) -> tuple[str, AccessClaims]:
        # NumericDate is whole seconds here, so the claims returned match what verify will read.
        issued = math.floor(_timestamp(now))
        claims = AccessClaims(
            user_id=user_id,
            tenant_id=tenant_id,
            session_id=session_id,
            token_id=uuid.uuid4(),
            issued_at=datetime.fromtimestamp(issued, UTC),
            expires_at=datetime.fromtimestamp(issued + self._ttl, UTC),
        )
        payload: dict[str, Any] = {
            "iss": self._issuer,
            "aud": self._audience,
            "sub": str(user_id),
            "tid": str(tenant_id),
            "sid": str(session_id),
            "jti": str(claims.token_id),
            "iat": issued,
            "exp": issued + self._ttl,
        }
        token = jwt.encode(
            {"alg": ALGORITHM}, payload, self._key, algorithms=[ALGORITHM], registry=self._registry
        )
        return token, claims

    def verify(self, token: str, *, now: datetime | None = None) -> AccessClaims | None:
        """The token's claims, or None when anything about it does not check out.

        Raises only for a naive `now` (a programming error), never because of the token.
        """
        current = _timestamp(now)
        if not isinstance(token, str) or len(token) > MAX_TOKEN_LENGTH or not token.isascii():
            return None
        try:
            # A fixed key object, not a resolver: `kid`, `jku`, `jwk` or `x5u` in the header cannot
            # choose another key. The registry refuses every algorithm but HS256 (`none` included).
            decoded = jwt.decode(token, self._key, algorithms=[ALGORITHM], registry=self._registry)
            if decoded.header.get("alg") != ALGORITHM or _FORBIDDEN_HEADERS & decoded.header.keys():
                return None
            registry = jwt.JWTClaimsRegistry(
                now=math.floor(current),
                leeway=LEEWAY_SECONDS,
                iss={"essential": True, "value": self._issuer},
                aud={"essential": True, "value": self._audience},
                sub={"essential": True},
                tid={"essential": True},
                sid={"essential": True},
                jti={"essential": True},
                iat={"essential": True},
                exp={"essential": True},
            )
            registry.validate(decoded.claims)
            return _to_claims(decoded.claims)
        except Exception:
            # A security boundary: whatever a hostile token trips over (joserfc errors, bad
            # base64, odd JSON, huge numbers), the answer is "not a valid token", never a 500.
            return None


def _to_claims(claims: Mapping[str, Any]) -> AccessClaims | None:
    ids = [_parse_uuid(claims[name]) for name in _UUID_CLAIMS]
    user_id, tenant_id, session_id, token_id = ids
    if user_id is None or tenant_id is None or session_id is None or token_id is None:
        return None
    # validate() has checked that both are finite numbers (bools refused).
    iat, exp = claims["iat"], claims["exp"]
    if exp <= iat:
        return None
    return AccessClaims(
        user_id=user_id,
        tenant_id=tenant_id,
        session_id=session_id,
        token_id=token_id,
        issued_at=datetime.fromtimestamp(iat, UTC),
        expires_at=datetime.fromtimestamp(exp, UTC),
    )


def _parse_uuid(value: object) -> uuid.UUID | None:
    # Only the canonical form we emit: uuid.UUID() also takes braces, "urn:uuid:" and bare hex,
    # which would let one identity be spelled several ways.
    if not isinstance(value, str) or len(value) != 36:
        return None
    try:
        parsed = uuid.UUID(value)
    except ValueError:
        return None
    return parsed if str(parsed) == value else None


def _timestamp(now: datetime | None) -> float:
    if now is None:
        return datetime.now(UTC).timestamp()
    if now.tzinfo is None or now.utcoffset() is None:
        raise ValueError("now must be timezone-aware")
    return now.timestamp()
