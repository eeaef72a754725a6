"""Opaque bearer secrets (refresh tokens, invitation tokens, API keys) and how they are stored.

Each secret is a type prefix followed by 32 random bytes in URL-safe base64 (43 characters, 256
bits). The prefix tells the secret's kind at a glance (in a leaked log, a secret scanner, or the
`Authorization` header, where an API key must be told apart from a JWT).

Only `hash_token(secret)` is stored. A fast SHA-256 is the right tool here, unlike for passwords:
a slow KDF protects guessable input, and 256 random bits cannot be guessed, so it would only make
every request slower. A deterministic, unsalted hash is also what lets the server look a presented
secret up by an indexed equality on its hash; the database never holds anything replayable.
"""

from __future__ import annotations

import hashlib
import re
import secrets
from typing import Final

# Public type markers, not secrets (hence the noqa for ruff's hardcoded-password check).
REFRESH_TOKEN_PREFIX: Final = "tfr_"  # noqa: S105
INVITATION_TOKEN_PREFIX: Final = "tfi_"  # noqa: S105
API_KEY_PREFIX: Final = "tfk_"
# secrets.token_urlsafe(32) always gives 43 characters (32 bytes, base64 without padding).
RANDOM_BYTES: Final = 32
RANDOM_CHARS: Final = 43
# The contract: `ApiKey.prefix` is the key's first 12 characters ("tfk_" and 8 random ones),
# enough to tell keys apart in a list, far too little to help guess one.
API_KEY_DISPLAY_PREFIX_LENGTH: Final = 12

_API_KEY_PATTERN: Final = re.compile(rf"{API_KEY_PREFIX}[A-Za-z0-9_-]{{{RANDOM_CHARS}}}")


def _new_secret(prefix: str) -> str:
    return prefix + secrets.token_urlsafe(RANDOM_BYTES)


def new_refresh_token() -> str:
    return _new_secret(REFRESH_TOKEN_PREFIX)


def new_invitation_token() -> str:
    return _new_secret(INVITATION_TOKEN_PREFIX)


def new_api_key() -> str:
    return _new_secret(API_KEY_PREFIX)


def api_key_prefix(key: str) -> str:
    """What `ApiKey.prefix` shows: the first 12 characters."""
    return key[:API_KEY_DISPLAY_PREFIX_LENGTH]


def hash_token(token: str) -> str:
    """SHA-256 hex digest (64 characters) of a secret, the only form the database keeps."""
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def looks_like_api_key(token: str) -> bool:
    """Whether a bearer credential has the shape of an API key (as opposed to a JWT).

    Shape only: the caller still looks the key up by its hash.
    """
    return _API_KEY_PATTERN.fullmatch(token) is not None
