"""Password hashing with Argon2id; hashing runs in a thread so it never blocks the event loop."""

from __future__ import annotations

import asyncio

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

MIN_LENGTH = 10
MAX_LENGTH = 256

# argon2-cffi's defaults are RFC 9106's low-memory Argon2id profile.
_hasher = PasswordHasher()
# Verified against when an email has no account, so that the answer takes as long as for one that
# has. The hash of a random password that was thrown away; made with `_hasher`'s parameters, which
# a test keeps in step (a hash with other parameters would take another time).
DECOY_HASH = (
    "$argon2id$v=19$m=65536,t=3,p=4$72fq0KQvvgNZbsODZcMgag"
    "$D+9uDJ7Bh3M+VyafWQlRijxGAlMPBntQXwnRtdAtLHI"
)


async def hash_password(password: str) -> str:
    return await asyncio.to_thread(_hasher.hash, password)


async def verify_password(password_hash: str, password: str) -> bool:
    def verify() -> bool:
        try:
            return _hasher.verify(password_hash, password)
        except (VerificationError, InvalidHashError):
            return False

    return await asyncio.to_thread(verify)


async def verify_password_of(password_hash: str | None, password: str) -> bool:
    """Verify against an account's hash, or spend the same Argon2 time when there is no account."""
    if password_hash is None:
        await verify_password(DECOY_HASH, password)
        return False
    return await verify_password(password_hash, password)


def has_current_parameters(password_hash: str) -> bool:
    return not _hasher.check_needs_rehash(password_hash)
