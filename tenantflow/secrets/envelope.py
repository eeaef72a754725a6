"""Envelope encryption, as pure functions: no database, no settings, no I/O.

Two layers, both AES-256-GCM from the `cryptography` package:

- A *master key* (from ``TENANTFLOW_ENCRYPTION_KEYS``, newest first) wraps each tenant's *data key*.
  The wrapping is authenticated with the tenant id, so a wrapped key copied to another tenant's row
  does not unwrap. The first master key wraps; every configured one unwraps, which lets master keys
  rotate without downtime (add a new key in front, rewrap, then drop the old one).
- A tenant's data key encrypts that tenant's secrets (provider keys). Each ciphertext is
  authenticated with the tenant id and the record id, so it cannot be moved to another row.
  Destroying the data key makes the tenant's secrets unrecoverable (crypto-shredding).

Master key strings are read as follows (see `MasterKey.from_config`):

- the urlsafe-base64 encoding of exactly 32 bytes (43 characters, optionally padded with one
  ``=``; what ``secrets.token_urlsafe(32)`` and development mode produce) is the key itself;
- any other string of at least 32 characters is a passphrase: its UTF-8 bytes go through
  HKDF-SHA256 with the fixed salt `HKDF_SALT` and info `HKDF_INFO` to give the 32-byte key. A
  fixed salt keeps the derivation deterministic (the same configuration always yields the same key)
  without storing anything; HKDF is not a password hash, so such strings must already be
  high-entropy random values, which the 32-character minimum is meant to encourage;
- anything shorter is refused with `EncryptionKeyError`.

Nothing here puts key material or plaintext into an exception message or a repr.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import os
import re
import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

__all__ = [
    "DATA_KEY_SIZE",
    "HKDF_INFO",
    "HKDF_SALT",
    "MIN_MASTER_KEY_LENGTH",
    "DecryptionError",
    "EncryptionKeyError",
    "KeyUnavailableError",
    "MasterKey",
    "MasterKeyring",
    "SecretsError",
    "WrappedKey",
    "decrypt_secret",
    "encrypt_secret",
    "mask_secret",
    "new_data_key",
]

KEY_SIZE = 32  # AES-256
DATA_KEY_SIZE = KEY_SIZE
NONCE_SIZE = 12  # 96 bits: the size GCM is specified for; random per encryption
MIN_MASTER_KEY_LENGTH = 32

# Fixed and public by design: they only separate this use of HKDF from any other (see module doc).
HKDF_SALT = b"tenantflow/master-key/salt/v1"
HKDF_INFO = b"tenantflow/master-key/aes-256-gcm/v1"
_KEY_ID_MESSAGE = b"tenantflow key id"
_KEY_ID_HEX_CHARS = 16

# The first byte of every blob names its format, so the format can change without guessing.
_WRAP_VERSION = 1
_SECRET_VERSION = 1
# Distinct associated-data labels: a wrapped data key can never pass for a secret, or vice versa.
_WRAP_LABEL = b"tenantflow/data-key/v1\x00"
_SECRET_LABEL = b"tenantflow/secret/v1\x00"

# 32 bytes encode to 43 urlsafe-base64 characters (plus one "=" when padded).
_BASE64_KEY = re.compile(r"[A-Za-z0-9_-]{43}=?")


class SecretsError(Exception):
    """Base class of the errors raised here; messages never contain keys or plaintext."""


class EncryptionKeyError(SecretsError, ValueError):
    """A master key from the configuration cannot be used."""


class DecryptionError(SecretsError):
    """A blob did not authenticate: wrong key, other tenant or record, tampered, unknown format."""


class KeyUnavailableError(SecretsError):
    """The master key that wrapped a data key is no longer configured."""

    def __init__(self, master_key_id: str) -> None:
        super().__init__(f"master key {master_key_id!r} is not configured")
        self.master_key_id = master_key_id


def _uuid_bytes(value: uuid.UUID, name: str) -> bytes:
    # A str id would otherwise fail deep inside with an unhelpful AttributeError.
    if not isinstance(value, uuid.UUID):
        raise TypeError(f"{name} must be a uuid.UUID")
    return value.bytes


def _wrap_aad(tenant_id: uuid.UUID) -> bytes:
    return _WRAP_LABEL + _uuid_bytes(tenant_id, "tenant_id")


def _secret_aad(tenant_id: uuid.UUID, record_id: uuid.UUID) -> bytes:
    return _SECRET_LABEL + _uuid_bytes(tenant_id, "tenant_id") + _uuid_bytes(record_id, "record_id")


def _seal(key: bytes, version: int, plaintext: bytes, aad: bytes) -> bytes:
    nonce = os.urandom(NONCE_SIZE)
    header = bytes([version])
    # The version byte is authenticated too, so it cannot be swapped without detection.
    return header + nonce + AESGCM(key).encrypt(nonce, plaintext, header + aad)


def _open(key: bytes, version: int, blob: bytes, aad: bytes) -> bytes:
    if len(key) != KEY_SIZE:
        raise DecryptionError("cannot decrypt: the key has the wrong size")
    # Version byte, nonce and at least the 16-byte tag.
    if len(blob) < 1 + NONCE_SIZE + 16 or blob[0] != version:
        raise DecryptionError("cannot decrypt: unknown or truncated format")
    header, nonce, ciphertext = blob[:1], blob[1 : 1 + NONCE_SIZE], blob[1 + NONCE_SIZE :]
    try:
        return AESGCM(key).decrypt(nonce, ciphertext, header + aad)
    except InvalidTag:
        # `from None`: the tag failure says nothing more, and tracebacks stay short.
        raise DecryptionError("cannot decrypt: authentication failed") from None


class MasterKey:
    """One 32-byte master key and its fingerprint `key_id`; its repr shows only the id."""

    __slots__ = ("_key", "key_id")

    def __init__(self, key: bytes) -> None:
        if not isinstance(key, bytes) or len(key) != KEY_SIZE:
            raise EncryptionKeyError(f"a master key must be exactly {KEY_SIZE} bytes")
        self._key = key
        self.key_id = self.fingerprint(key)

    @staticmethod
    def fingerprint(key: bytes) -> str:
        """16 hex characters of HMAC-SHA256(key, "tenantflow key id"): names a key, reveals none."""
        digest = hmac.new(key, _KEY_ID_MESSAGE, hashlib.sha256).hexdigest()
        return digest[:_KEY_ID_HEX_CHARS]

    @classmethod
    def from_config(cls, value: str, *, position: int | None = None) -> MasterKey:
        """Read one configured key string (see the module docstring for the rules).

        `position` (1-based) only makes the error message point at the offending entry.
        """
        where = f" (entry {position} of TENANTFLOW_ENCRYPTION_KEYS)" if position else ""
        if not isinstance(value, str):
            raise EncryptionKeyError(f"a master key must be a string{where}")
        if _BASE64_KEY.fullmatch(value):
            try:
                raw = base64.urlsafe_b64decode(value.rstrip("=") + "=")
            except (binascii.Error, ValueError):  # pragma: no cover - the pattern rules it out
                raw = b""
            if len(raw) == KEY_SIZE:
                return cls(raw)
        if len(value) < MIN_MASTER_KEY_LENGTH:
            raise EncryptionKeyError(
                f"master key is too short{where}: use at least {MIN_MASTER_KEY_LENGTH} characters, "
                "e.g. the output of `python -c 'import secrets; print(secrets.token_urlsafe(32))'`"
            )
        hkdf = HKDF(algorithm=hashes.SHA256(), length=KEY_SIZE, salt=HKDF_SALT, info=HKDF_INFO)
        return cls(hkdf.derive(value.encode("utf-8", "surrogatepass")))

    def __repr__(self) -> str:
        return f"MasterKey(key_id={self.key_id!r})"

    def __reduce__(self) -> str | tuple[object, ...]:
        # Keys must not leave the process by accident (pickled into a cache, a task queue, ...).
        raise TypeError("MasterKey cannot be pickled")

    def _wrap(self, data_key: bytes, tenant_id: uuid.UUID) -> bytes:
        return _seal(self._key, _WRAP_VERSION, data_key, _wrap_aad(tenant_id))

    def _unwrap(self, wrapped: bytes, tenant_id: uuid.UUID) -> bytes:
        return _open(self._key, _WRAP_VERSION, wrapped, _wrap_aad(tenant_id))


@dataclass(frozen=True)
class WrappedKey:
    """A data key encrypted by a master key, as stored in `TenantDataKey`.

    `wrapped` is the version byte, the nonce and the AES-GCM ciphertext; it is left out of the repr
    because it is only useful together with the row, and logs have no need for it.
    """

    wrapped: bytes = field(repr=False)
    master_key_id: str


class MasterKeyring:
    """The configured master keys, newest first: `current` (the first) wraps, all of them unwrap."""

    __slots__ = ("_by_id", "current")

    def __init__(self, keys: Sequence[str]) -> None:
        # A bare str is a Sequence[str] too; iterating its characters would give baffling errors.
        if isinstance(keys, str):
            raise TypeError("pass a list of master keys (split the comma-separated setting first)")
        parsed = [MasterKey.from_config(key, position=n) for n, key in enumerate(keys, start=1)]
        if not parsed:
            raise EncryptionKeyError("no master key is configured (TENANTFLOW_ENCRYPTION_KEYS)")
        self.current: MasterKey = parsed[0]
        self._by_id: dict[str, MasterKey] = {}
        for key in parsed:
            known = self._by_id.get(key.key_id)
            # The same key listed twice is harmless; two keys sharing an id would make unwrap
            # ambiguous (a 2**-64 chance, but cheap to refuse).
            if known is not None and not hmac.compare_digest(known._key, key._key):
                raise EncryptionKeyError(f"two master keys share the id {key.key_id!r}")
            self._by_id.setdefault(key.key_id, key)

    @property
    def key_ids(self) -> tuple[str, ...]:
        """The ids of the configured keys, newest first, without duplicates."""
        return tuple(self._by_id)

    def __contains__(self, master_key_id: object) -> bool:
        return master_key_id in self._by_id

    def __repr__(self) -> str:
        return f"MasterKeyring(key_ids={list(self._by_id)!r})"

    def __reduce__(self) -> str | tuple[object, ...]:
        raise TypeError("MasterKeyring cannot be pickled")

    def wrap(self, data_key: bytes, *, tenant_id: uuid.UUID) -> WrappedKey:
        """Encrypt a tenant's data key under the current master key, bound to `tenant_id`."""
        if not isinstance(data_key, bytes) or len(data_key) != DATA_KEY_SIZE:
            raise ValueError(f"a data key must be exactly {DATA_KEY_SIZE} bytes")
        return WrappedKey(self.current._wrap(data_key, tenant_id), self.current.key_id)

    def unwrap(self, wrapped: WrappedKey, *, tenant_id: uuid.UUID) -> bytes:
        """Decrypt a data key; `KeyUnavailableError` if its master key was retired."""
        master = self._by_id.get(wrapped.master_key_id)
        if master is None:
            raise KeyUnavailableError(wrapped.master_key_id)
        data_key = master._unwrap(wrapped.wrapped, tenant_id)
        if len(data_key) != DATA_KEY_SIZE:  # authentic but not ours: refuse rather than misuse
            raise DecryptionError("cannot decrypt: the wrapped value is not a data key")
        return data_key

    def needs_rewrap(self, wrapped: WrappedKey) -> bool:
        """Whether the data key was wrapped by a master key other than the current one."""
        return wrapped.master_key_id != self.current.key_id

    def rewrap(self, wrapped: WrappedKey, *, tenant_id: uuid.UUID) -> WrappedKey:
        """Unwrap with whichever key wrapped it and wrap again with the current key.

        Always produces a fresh wrapping (new nonce), also when the key was already current;
        callers that want to skip those check `needs_rewrap` first.
        """
        return self.wrap(self.unwrap(wrapped, tenant_id=tenant_id), tenant_id=tenant_id)


def new_data_key() -> bytes:
    """A fresh random 32-byte data key (from the operating system's CSPRNG)."""
    return AESGCM.generate_key(bit_length=DATA_KEY_SIZE * 8)


def encrypt_secret(
    data_key: bytes, plaintext: str, *, tenant_id: uuid.UUID, record_id: uuid.UUID
) -> bytes:
    """Encrypt a secret for one row: version byte + 12-byte nonce + AES-GCM ciphertext and tag."""
    if not isinstance(data_key, bytes) or len(data_key) != DATA_KEY_SIZE:
        raise ValueError(f"a data key must be exactly {DATA_KEY_SIZE} bytes")
    try:
        encoded = plaintext.encode("utf-8")
    except UnicodeEncodeError:
        # The original exception carries the whole string in `.object`: do not chain it.
        raise ValueError("the secret is not valid Unicode text") from None
    return _seal(data_key, _SECRET_VERSION, encoded, _secret_aad(tenant_id, record_id))


def decrypt_secret(
    data_key: bytes, blob: bytes, *, tenant_id: uuid.UUID, record_id: uuid.UUID
) -> str:
    """Decrypt what `encrypt_secret` made for this tenant and record; else `DecryptionError`."""
    if not isinstance(data_key, bytes) or not isinstance(blob, bytes):
        raise DecryptionError("cannot decrypt: key and ciphertext must be bytes")
    plaintext = _open(data_key, _SECRET_VERSION, blob, _secret_aad(tenant_id, record_id))
    try:
        return plaintext.decode("utf-8")
    except UnicodeDecodeError:  # pragma: no cover - only possible for blobs not made here
        raise DecryptionError("cannot decrypt: the plaintext is not UTF-8") from None


# Well-known, non-secret prefixes of provider keys; longest first so "sk-proj-" wins over "sk-".
_KNOWN_PREFIXES: tuple[str, ...] = tuple(
    sorted(
        (
            "sk-",
            "sk-ant-",
            "sk-proj-",
            "pk-",
            "sk_live_",
            "sk_test_",
            "pk_live_",
            "pk_test_",
            "xoxb-",
            "xoxp-",
            "ghp_",
            "github_pat_",
        ),
        key=len,
        reverse=True,
    )
)
# Below this many characters after the prefix nothing is revealed: 4 shown of 12 still hides 8.
_MIN_REVEAL_LENGTH = 12
_REVEAL = 4
_ELLIPSIS = "\u2026"
MASK_MAX_LENGTH = 32


def mask_secret(secret: str) -> str:
    """A display form of a secret for `ProviderKey.masked_key`, e.g. "sk-…9f2c".

    Keeps a known provider prefix (public information that helps tell keys apart) and the last 4
    characters, but only when at least 12 characters follow the prefix; shorter secrets become "…"
    alone. The result is at most 32 characters.
    """
    prefix = next((p for p in _KNOWN_PREFIXES if secret.startswith(p)), "")
    body = secret[len(prefix) :]
    if len(body) < _MIN_REVEAL_LENGTH:
        return _ELLIPSIS
    masked = f"{prefix}{_ELLIPSIS}{body[-_REVEAL:]}"
    assert len(masked) <= MASK_MAX_LENGTH
    return masked
