"""Real access tokens for loaded members, minted with tenantflow's own codec and key."""

from __future__ import annotations

from dataclasses import dataclass

from bench import ids
from bench.plans import Volumes
from tenantflow.auth.tokens import AccessTokenCodec

# Long enough for a full run; the server checks `exp` from the token, not its own TTL setting.
TOKEN_TTL_SECONDS = 6 * 3600
MEMBERS_WITH_TOKENS = 4  # per tenant: the owner, the admin and editors, who may all write


@dataclass(frozen=True)
class Member:
    tenant: int
    member: int
    token: str

    @property
    def authorization(self) -> str:
        return f"Bearer {self.token}"


def mint(secret_key: str, volumes: Volumes) -> list[Member]:
    """Tokens for members that the loader made, each with its refresh-token family (`sid`)."""
    codec = AccessTokenCodec(secret_key, ttl_seconds=TOKEN_TTL_SECONDS)
    members = []
    for i in range(1, volumes.tenants + 1):
        for k in range(1, min(MEMBERS_WITH_TOKENS, volumes.members) + 1):
            token, _ = codec.issue(
                user_id=ids.user_id(i, k),
                tenant_id=ids.tenant_id(i),
                session_id=ids.session_id(i, k),
            )
            members.append(Member(i, k, token))
    return members
