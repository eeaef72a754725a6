"""Envelope encryption: master keys wrap tenant data keys, data keys encrypt secrets."""

from __future__ import annotations

import base64
import hashlib
import hmac
import os
import pickle
import secrets
import uuid

import pytest
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from tenantflow.secrets.envelope import (
    DecryptionError,
    EncryptionKeyError,
    KeyUnavailableError,
    MasterKey,
    MasterKeyring,
    SecretsError,
    WrappedKey,
    decrypt_secret,
    encrypt_secret,
    mask_secret,
    new_data_key,
)

TENANT = uuid.UUID("11111111-1111-4111-8111-111111111111")
OTHER_TENANT = uuid.UUID("22222222-2222-4222-8222-222222222222")
RECORD = uuid.UUID("33333333-3333-4333-8333-333333333333")
OTHER_RECORD = uuid.UUID("44444444-4444-4444-8444-444444444444")
SECRET = "sk-proj-abcdefghijklmnopqrstuvwxyz0123456789"

RAW_K1 = bytes(range(32))
RAW_K2 = bytes(range(100, 132))
K1 = base64.urlsafe_b64encode(RAW_K1).decode().rstrip("=")
K2 = base64.urlsafe_b64encode(RAW_K2).decode().rstrip("=")


def fingerprint(raw: bytes) -> str:
    """The documented key id, computed independently of the code under test."""
    return hmac.new(raw, b"tenantflow key id", hashlib.sha256).hexdigest()[:16]


def hkdf(value: str) -> bytes:
    """The documented derivation of passphrase-style keys (salt and info are fixed)."""
    return HKDF(
        algorithm=hashes.SHA256(),
        length=32,
        salt=b"tenantflow/master-key/salt/v1",
        info=b"tenantflow/master-key/aes-256-gcm/v1",
    ).derive(value.encode())


def flipped(blob: bytes, index: int) -> bytes:
    return blob[:index] + bytes([blob[index] ^ 0x01]) + blob[index + 1 :]


def material_forms(raw: bytes) -> list[str]:
    """Ways a key could leak into text: its bytes repr, hex and base64 forms."""
    return [
        repr(raw),
        raw.hex(),
        base64.b64encode(raw).decode().rstrip("="),
        base64.urlsafe_b64encode(raw).decode().rstrip("="),
    ]


# --- master keys from configuration -------------------------------------------------------------


def test_urlsafe_base64_of_32_bytes_is_the_key_itself() -> None:
    raw = os.urandom(32)
    unpadded = base64.urlsafe_b64encode(raw).decode().rstrip("=")
    padded = base64.urlsafe_b64encode(raw).decode()
    assert len(unpadded) == 43
    assert MasterKey.from_config(unpadded).key_id == fingerprint(raw)
    assert MasterKey.from_config(padded).key_id == fingerprint(raw)


def test_development_style_key_is_decoded_not_derived() -> None:
    value = secrets.token_urlsafe(32)  # what Settings generates in development
    assert MasterKey.from_config(value).key_id == fingerprint(base64.urlsafe_b64decode(value + "="))
    assert MasterKey.from_config(value).key_id != fingerprint(hkdf(value))


@pytest.mark.parametrize(
    "value",
    [
        "correct horse battery staple, 32+ characters long",
        "x" * 32,
        # Valid base64, but not of 32 bytes: a passphrase, not a raw key.
        base64.urlsafe_b64encode(os.urandom(24)).decode(),
        base64.urlsafe_b64encode(os.urandom(33)).decode(),
        # Standard (not urlsafe) alphabet.
        "+" * 43,
    ],
    # Stable ids: the random values differ between test processes.
    ids=["passphrase", "x32", "base64-24-bytes", "base64-33-bytes", "standard-alphabet"],
)
def test_other_long_strings_go_through_hkdf(value: str) -> None:
    assert MasterKey.from_config(value).key_id == fingerprint(hkdf(value))


def test_derivation_is_deterministic_and_distinguishes_keys() -> None:
    a = "a-passphrase-that-is-long-enough-0001"
    b = "a-passphrase-that-is-long-enough-0002"
    assert MasterKey.from_config(a).key_id == MasterKey.from_config(a).key_id
    assert MasterKey.from_config(a).key_id != MasterKey.from_config(b).key_id


@pytest.mark.parametrize("value", ["", "hunter2", "s3cr3t-but-only-31-characters!!"])
def test_short_master_key_is_rejected_without_echoing_it(value: str) -> None:
    assert len(value) < 32
    with pytest.raises(EncryptionKeyError) as caught:
        MasterKeyring([K1, value])
    error = caught.value
    assert isinstance(error, ValueError)
    assert "entry 2" in str(error)
    assert "32" in str(error)
    if value:
        assert value not in str(error)
        assert value not in repr(error)
        assert all(value not in str(arg) for arg in error.args)
    assert error.__cause__ is None
    assert error.__context__ is None


def test_keyring_needs_at_least_one_key_and_a_list() -> None:
    with pytest.raises(EncryptionKeyError, match="no master key"):
        MasterKeyring([])
    with pytest.raises(TypeError, match="list"):
        MasterKeyring(K1)


def test_key_ids_are_short_fingerprints() -> None:
    ring = MasterKeyring([K2, K1, "passphrase-" * 4])
    assert ring.key_ids[:2] == (fingerprint(RAW_K2), fingerprint(RAW_K1))
    assert ring.current.key_id == fingerprint(RAW_K2)
    for key_id in ring.key_ids:
        assert 0 < len(key_id) <= 32
        assert int(key_id, 16) >= 0
        assert key_id not in (K1, K2)
        assert key_id not in RAW_K1.hex()
        assert key_id not in RAW_K2.hex()
    assert fingerprint(RAW_K1) in ring
    assert "0000000000000000" not in ring


def test_duplicate_keys_are_listed_once() -> None:
    ring = MasterKeyring([K1, K1, base64.urlsafe_b64encode(RAW_K1).decode()])
    assert ring.key_ids == (fingerprint(RAW_K1),)


def test_reprs_do_not_contain_key_material() -> None:
    passphrase = "a-passphrase-that-is-long-enough-9999"
    ring = MasterKeyring([K1, passphrase])
    data_key = new_data_key()
    wrapped = ring.wrap(data_key, tenant_id=TENANT)
    texts = [repr(ring), str(ring), repr(ring.current), str(ring.current), repr(wrapped)]
    forbidden = [K1, passphrase, *material_forms(RAW_K1), *material_forms(hkdf(passphrase))]
    forbidden += [*material_forms(data_key), *material_forms(wrapped.wrapped)]
    for text in texts:
        for secret in forbidden:
            assert secret not in text, text
    assert fingerprint(RAW_K1) in repr(ring)
    assert wrapped.master_key_id in repr(wrapped)


def test_keys_refuse_to_be_pickled() -> None:
    ring = MasterKeyring([K1])
    with pytest.raises(TypeError):
        pickle.dumps(ring)
    with pytest.raises(TypeError):
        pickle.dumps(ring.current)


# --- wrapping data keys -------------------------------------------------------------------------


def test_new_data_keys_are_random_32_bytes() -> None:
    keys = {new_data_key() for _ in range(100)}
    assert len(keys) == 100
    assert all(isinstance(key, bytes) and len(key) == 32 for key in keys)


def test_wrap_unwrap_round_trip() -> None:
    ring = MasterKeyring([K1])
    data_key = new_data_key()
    wrapped = ring.wrap(data_key, tenant_id=TENANT)
    assert wrapped.master_key_id == fingerprint(RAW_K1)
    assert len(wrapped.master_key_id) <= 32
    # Version byte + 96-bit nonce + 32-byte key + 16-byte tag.
    assert len(wrapped.wrapped) == 1 + 12 + 32 + 16
    assert data_key not in wrapped.wrapped
    assert ring.unwrap(wrapped, tenant_id=TENANT) == data_key
    # A fresh nonce each time: wrapping twice gives different bytes.
    assert ring.wrap(data_key, tenant_id=TENANT).wrapped != wrapped.wrapped
    # A stored row is just bytes and an id; rebuilding the value works the same.
    rebuilt = WrappedKey(wrapped=bytes(wrapped.wrapped), master_key_id=str(wrapped.master_key_id))
    assert MasterKeyring([K1]).unwrap(rebuilt, tenant_id=TENANT) == data_key


@pytest.mark.parametrize("bad", [b"", b"x" * 16, b"x" * 31, b"x" * 33])
def test_wrap_refuses_keys_of_the_wrong_size(bad: bytes) -> None:
    with pytest.raises(ValueError, match="32 bytes"):
        MasterKeyring([K1]).wrap(bad, tenant_id=TENANT)


def test_rotation() -> None:
    data_key = new_data_key()
    old = MasterKeyring([K1]).wrap(data_key, tenant_id=TENANT)
    assert old.master_key_id == fingerprint(RAW_K1)
    assert not MasterKeyring([K1]).needs_rewrap(old)

    # A new key goes in front: old wrappings still open, and are reported as due for a rewrap.
    rotating = MasterKeyring([K2, K1])
    assert rotating.unwrap(old, tenant_id=TENANT) == data_key
    assert rotating.needs_rewrap(old)

    new = rotating.rewrap(old, tenant_id=TENANT)
    assert new.master_key_id == fingerprint(RAW_K2)
    assert not rotating.needs_rewrap(new)
    assert rotating.unwrap(new, tenant_id=TENANT) == data_key

    # The old key is retired: rewrapped keys open, anything left behind names the missing key.
    retired = MasterKeyring([K2])
    assert retired.unwrap(new, tenant_id=TENANT) == data_key
    with pytest.raises(KeyUnavailableError) as caught:
        retired.unwrap(old, tenant_id=TENANT)
    assert caught.value.master_key_id == fingerprint(RAW_K1)
    assert fingerprint(RAW_K1) in str(caught.value)
    for form in [K1, *material_forms(RAW_K1), *material_forms(data_key)]:
        assert form not in str(caught.value)
    with pytest.raises(KeyUnavailableError):
        retired.rewrap(old, tenant_id=TENANT)


def test_rewrap_of_a_current_key_still_works() -> None:
    ring = MasterKeyring([K1])
    data_key = new_data_key()
    wrapped = ring.wrap(data_key, tenant_id=TENANT)
    again = ring.rewrap(wrapped, tenant_id=TENANT)
    assert again.master_key_id == wrapped.master_key_id
    assert ring.unwrap(again, tenant_id=TENANT) == data_key


def test_wrapped_key_is_bound_to_its_tenant() -> None:
    ring = MasterKeyring([K1])
    wrapped = ring.wrap(new_data_key(), tenant_id=TENANT)
    with pytest.raises(DecryptionError):
        ring.unwrap(wrapped, tenant_id=OTHER_TENANT)
    with pytest.raises(DecryptionError):
        ring.rewrap(wrapped, tenant_id=OTHER_TENANT)


def test_wrapped_key_under_a_mislabelled_master_key_fails() -> None:
    wrapped = MasterKeyring([K1]).wrap(new_data_key(), tenant_id=TENANT)
    ring = MasterKeyring([K2, K1])
    relabelled = WrappedKey(wrapped.wrapped, master_key_id=fingerprint(RAW_K2))
    with pytest.raises(DecryptionError):
        ring.unwrap(relabelled, tenant_id=TENANT)


def test_every_tampered_byte_of_a_wrapped_key_is_detected() -> None:
    ring = MasterKeyring([K1])
    wrapped = ring.wrap(new_data_key(), tenant_id=TENANT)
    for index in range(len(wrapped.wrapped)):
        tampered = WrappedKey(flipped(wrapped.wrapped, index), wrapped.master_key_id)
        with pytest.raises(DecryptionError):
            ring.unwrap(tampered, tenant_id=TENANT)
    for truncated in (b"", wrapped.wrapped[:1], wrapped.wrapped[:20], wrapped.wrapped[:-1]):
        with pytest.raises(DecryptionError):
            ring.unwrap(WrappedKey(truncated, wrapped.master_key_id), tenant_id=TENANT)


# --- secrets under a data key -------------------------------------------------------------------


@pytest.mark.parametrize(
    "plaintext", [SECRET, "", "x", "päss wörd ✓ 🔑", "y" * 10_000, "line\nbreak\x00nul"]
)
def test_secret_round_trip(plaintext: str) -> None:
    data_key = new_data_key()
    blob = encrypt_secret(data_key, plaintext, tenant_id=TENANT, record_id=RECORD)
    assert blob[0] == 1  # format version
    assert len(blob) == 1 + 12 + len(plaintext.encode()) + 16
    assert decrypt_secret(data_key, blob, tenant_id=TENANT, record_id=RECORD) == plaintext


def test_secret_ciphertexts_are_randomised_and_opaque() -> None:
    data_key = new_data_key()
    first = encrypt_secret(data_key, SECRET, tenant_id=TENANT, record_id=RECORD)
    second = encrypt_secret(data_key, SECRET, tenant_id=TENANT, record_id=RECORD)
    assert first != second
    assert first[1:13] != second[1:13]  # distinct nonces
    for blob in (first, second):
        assert SECRET.encode() not in blob
        assert SECRET[-8:].encode() not in blob
        assert data_key not in blob


@pytest.mark.parametrize(
    ("tenant_id", "record_id"),
    [
        (OTHER_TENANT, RECORD),
        (TENANT, OTHER_RECORD),
        (OTHER_TENANT, OTHER_RECORD),
        (RECORD, TENANT),
    ],
)
def test_secret_is_bound_to_its_tenant_and_record(
    tenant_id: uuid.UUID, record_id: uuid.UUID
) -> None:
    data_key = new_data_key()
    blob = encrypt_secret(data_key, SECRET, tenant_id=TENANT, record_id=RECORD)
    with pytest.raises(DecryptionError):
        decrypt_secret(data_key, blob, tenant_id=tenant_id, record_id=record_id)


def test_every_tampered_byte_of_a_secret_is_detected() -> None:
    data_key = new_data_key()
    blob = encrypt_secret(data_key, SECRET, tenant_id=TENANT, record_id=RECORD)
    for index in range(len(blob)):
        with pytest.raises(DecryptionError):
            decrypt_secret(data_key, flipped(blob, index), tenant_id=TENANT, record_id=RECORD)


@pytest.mark.parametrize(
    "mangle",
    [
        lambda blob: b"",
        lambda blob: blob[:1],
        lambda blob: blob[:28],  # version + nonce + a tag's worth of bytes, but cut short
        lambda blob: blob[:-1],
        lambda blob: blob + b"\x00",
        lambda blob: b"\x02" + blob[1:],  # unknown format version
        lambda blob: b"\x00" + blob[1:],
    ],
)
def test_malformed_secret_blobs_are_refused(mangle: object) -> None:
    data_key = new_data_key()
    blob = encrypt_secret(data_key, SECRET, tenant_id=TENANT, record_id=RECORD)
    assert callable(mangle)
    with pytest.raises(DecryptionError):
        decrypt_secret(data_key, mangle(blob), tenant_id=TENANT, record_id=RECORD)


@pytest.mark.parametrize("bad", [b"", b"k" * 16, b"k" * 24, b"k" * 31, b"k" * 33])
def test_data_keys_of_the_wrong_size(bad: bytes) -> None:
    blob = encrypt_secret(new_data_key(), SECRET, tenant_id=TENANT, record_id=RECORD)
    with pytest.raises(DecryptionError):
        decrypt_secret(bad, blob, tenant_id=TENANT, record_id=RECORD)
    with pytest.raises(ValueError, match="32 bytes") as caught:
        encrypt_secret(bad, SECRET, tenant_id=TENANT, record_id=RECORD)
    assert SECRET not in str(caught.value)


def test_ids_must_be_uuids() -> None:
    data_key = new_data_key()
    with pytest.raises(TypeError, match="tenant_id"):
        encrypt_secret(data_key, SECRET, tenant_id=str(TENANT), record_id=RECORD)  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="record_id"):
        encrypt_secret(data_key, SECRET, tenant_id=TENANT, record_id=str(RECORD))  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="tenant_id"):
        MasterKeyring([K1]).wrap(data_key, tenant_id=str(TENANT))  # type: ignore[arg-type]


def test_unencodable_secret_is_refused_without_echoing_it() -> None:
    secret = "sk-abc\ud800def-unpaired-surrogate"
    with pytest.raises(ValueError, match="Unicode") as caught:
        encrypt_secret(new_data_key(), secret, tenant_id=TENANT, record_id=RECORD)
    assert secret not in str(caught.value)
    assert caught.value.__cause__ is None
    assert caught.value.__suppress_context__


def test_decryption_errors_reveal_nothing() -> None:
    data_key, wrong_key = new_data_key(), new_data_key()
    blob = encrypt_secret(data_key, SECRET, tenant_id=TENANT, record_id=RECORD)
    with pytest.raises(DecryptionError) as caught:
        decrypt_secret(wrong_key, blob, tenant_id=TENANT, record_id=RECORD)
    error = caught.value
    assert isinstance(error, SecretsError)
    text = f"{error} {error!r} {error.args!r}"
    for secret in [SECRET, SECRET[-4:], *material_forms(data_key), *material_forms(wrong_key)]:
        assert secret not in text
    # Chained exceptions would print in tracebacks too.
    assert error.__cause__ is None
    assert error.__suppress_context__


def test_unknown_format_version_is_reported_as_such() -> None:
    data_key = new_data_key()
    blob = encrypt_secret(data_key, SECRET, tenant_id=TENANT, record_id=RECORD)
    with pytest.raises(DecryptionError, match="unknown"):
        decrypt_secret(data_key, b"\x02" + blob[1:], tenant_id=TENANT, record_id=RECORD)
    with pytest.raises(DecryptionError, match="authentication failed"):
        decrypt_secret(data_key, flipped(blob, len(blob) - 1), tenant_id=TENANT, record_id=RECORD)


# --- crypto-shredding ---------------------------------------------------------------------------


def test_no_other_data_key_decrypts_a_secret() -> None:
    data_key = new_data_key()
    blob = encrypt_secret(data_key, SECRET, tenant_id=TENANT, record_id=RECORD)
    failures = 0
    for _ in range(1_000):
        other = new_data_key()
        assert other != data_key
        with pytest.raises(DecryptionError):
            decrypt_secret(other, blob, tenant_id=TENANT, record_id=RECORD)
        failures += 1
    assert failures == 1_000
    # The control: the right key still works, so the failures above are not a broken decrypt.
    assert decrypt_secret(data_key, blob, tenant_id=TENANT, record_id=RECORD) == SECRET


def test_without_the_data_key_the_master_keys_open_nothing() -> None:
    # Once the tenant's wrapped data key is destroyed only the secret's ciphertext remains, and no
    # master key opens it: neither as a wrapped key nor as a secret.
    ring = MasterKeyring([K2, K1])
    data_key = new_data_key()
    blob = encrypt_secret(data_key, SECRET, tenant_id=TENANT, record_id=RECORD)
    for key_id in ring.key_ids:
        with pytest.raises(DecryptionError):
            ring.unwrap(WrappedKey(blob, key_id), tenant_id=TENANT)
    for raw in (RAW_K1, RAW_K2):
        with pytest.raises(DecryptionError):
            decrypt_secret(raw, blob, tenant_id=TENANT, record_id=RECORD)


def test_a_wrapped_key_does_not_pass_for_a_secret() -> None:
    # Both formats start with version 1; separate associated-data labels keep them apart.
    wrapped = MasterKeyring([K1]).wrap(new_data_key(), tenant_id=TENANT)
    with pytest.raises(DecryptionError):
        decrypt_secret(RAW_K1, wrapped.wrapped, tenant_id=TENANT, record_id=RECORD)


def test_full_envelope() -> None:
    ring = MasterKeyring([K1])
    data_key = new_data_key()
    row_key = ring.wrap(data_key, tenant_id=TENANT)
    blob = encrypt_secret(data_key, SECRET, tenant_id=TENANT, record_id=RECORD)
    # Later, in another process with the same configuration:
    restored = MasterKeyring([K1]).unwrap(row_key, tenant_id=TENANT)
    assert decrypt_secret(restored, blob, tenant_id=TENANT, record_id=RECORD) == SECRET


# --- masking ------------------------------------------------------------------------------------

ELLIPSIS = "\u2026"


@pytest.mark.parametrize(
    ("secret", "masked"),
    [
        ("sk-abcdefghijkl9f2c", f"sk-{ELLIPSIS}9f2c"),
        (SECRET, f"sk-proj-{ELLIPSIS}6789"),
        ("sk-ant-api03-abcdefghijklmnopWXYZ", f"sk-ant-{ELLIPSIS}WXYZ"),
        ("pk-1234567890abcdef", f"pk-{ELLIPSIS}cdef"),
        ("xoxb-1234-5678-abcdefgh", f"xoxb-{ELLIPSIS}efgh"),
        ("ghp_aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa1234", f"ghp_{ELLIPSIS}1234"),
        ("github_pat_11AAAAAAA0aaaaaaaaaaaaaaaaaaaaaaaaaa", f"github_pat_{ELLIPSIS}aaaa"),
        ("sk_live_abcdefghijklmnop", f"sk_live_{ELLIPSIS}mnop"),
        # No known prefix: only the end is shown, the beginning stays hidden.
        ("AKIAIOSFODNN7EXAMPLE9f2c", f"{ELLIPSIS}9f2c"),
        ("abcdefghijkl", f"{ELLIPSIS}ijkl"),  # exactly 12 characters: the minimum to show 4
        ("abcdefghijk", ELLIPSIS),  # 11 characters: nothing shown
        ("sk-abcdefghijk", ELLIPSIS),  # 11 after the prefix: nothing, not even the prefix
        ("sk-", ELLIPSIS),
        ("short", ELLIPSIS),
        ("12345678", ELLIPSIS),
        ("", ELLIPSIS),
        # A prefix only counts at the start, and case matters.
        ("my-sk-abcdefghijklmnop", f"{ELLIPSIS}mnop"),
        ("SK-abcdefghijklmnop", f"{ELLIPSIS}mnop"),
        ("x" * 500 + "tail", f"{ELLIPSIS}tail"),
    ],
)
def test_mask_secret(secret: str, masked: str) -> None:
    assert mask_secret(secret) == masked


@pytest.mark.parametrize("length", range(40))
@pytest.mark.parametrize("prefix", ["", "sk-", "sk-proj-", "github_pat_", "xoxb-"])
def test_mask_reveals_at_most_four_characters(prefix: str, length: int) -> None:
    body = "".join(secrets.choice("ABCDEFGHJKLMNPQRSTUVWXYZ") for _ in range(length))
    masked = mask_secret(prefix + body)
    assert len(masked) <= 32
    assert masked.count(ELLIPSIS) == 1
    shown = masked.split(ELLIPSIS, 1)[1]
    assert len(shown) == (4 if length >= 12 else 0)
    assert body.endswith(shown)
    # At least 8 characters of the secret part stay hidden.
    assert length - len(shown) >= min(length, 8)
