"""Access tokens: a good token round-trips; every forgery, however built, verifies as None.

The opaque secrets of tenantflow.auth.secrets (refresh tokens, invitations, API keys) are tested
at the end.

Forged tokens are assembled by hand (base64, json, hmac) rather than with joserfc, so that the
tests do not share the library's assumptions about what a token may look like.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import uuid
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from tenantflow.auth.secrets import (
    api_key_prefix,
    hash_token,
    looks_like_api_key,
    new_api_key,
    new_invitation_token,
    new_refresh_token,
)
from tenantflow.auth.tokens import (
    LEEWAY_SECONDS,
    MAX_TOKEN_LENGTH,
    AccessClaims,
    AccessTokenCodec,
)

KEY = "k" * 16 + "0123456789abcdefghijklmnopqrstuvwxyz"  # 52 bytes
OTHER_KEY = "another-key-that-is-long-enough-for-hs256-0123456789"
TTL = 900
NOW = datetime(2025, 6, 1, 12, 0, 0, tzinfo=UTC)
T = int(NOW.timestamp())
USER = uuid.UUID("11111111-1111-4111-8111-111111111111")
TENANT = uuid.UUID("22222222-2222-4222-8222-222222222222")
SESSION = uuid.UUID("33333333-3333-4333-8333-333333333333")
JTI = uuid.UUID("44444444-4444-4444-8444-444444444444")
GOOD_HEADER: dict[str, Any] = {"alg": "HS256", "typ": "JWT"}
DROP = object()  # marks a claim or header field to leave out


@pytest.fixture
def codec() -> AccessTokenCodec:
    return AccessTokenCodec(KEY, ttl_seconds=TTL)


def b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def seg(value: object) -> str:
    return b64(json.dumps(value, separators=(",", ":")).encode())


def good_claims(**overrides: object) -> dict[str, Any]:
    claims: dict[str, Any] = {
        "iss": "tenantflow",
        "aud": "tenantflow-api",
        "sub": str(USER),
        "tid": str(TENANT),
        "sid": str(SESSION),
        "jti": str(JTI),
        "iat": T,
        "exp": T + TTL,
    }
    for name, value in overrides.items():
        if value is DROP:
            claims.pop(name, None)
        else:
            claims[name] = value
    return claims


def sign(
    header_segment: str,
    payload_segment: str,
    *,
    key: str | bytes = KEY,
    digest: Callable[..., Any] = hashlib.sha256,
) -> str:
    raw_key = key.encode() if isinstance(key, str) else key
    signing_input = f"{header_segment}.{payload_segment}"
    signature = hmac.new(raw_key, signing_input.encode(), digest).digest()
    return f"{signing_input}.{b64(signature)}"


def forge(
    header: dict[str, Any] | None = None,
    claims: dict[str, Any] | None = None,
    **kwargs: Any,
) -> str:
    return sign(seg(header or GOOD_HEADER), seg(claims or good_claims()), **kwargs)


def forge_raw_payload(payload_json: str, **kwargs: Any) -> str:
    """For payloads json.dumps would not write (NaN, Infinity, duplicate keys)."""
    return sign(seg(GOOD_HEADER), b64(payload_json.encode()), **kwargs)


def issued(codec: AccessTokenCodec) -> str:
    token, _ = codec.issue(user_id=USER, tenant_id=TENANT, session_id=SESSION, now=NOW)
    return token


def swap_segment(token: str, index: int, value: str) -> str:
    parts = token.split(".")
    parts[index] = value
    return ".".join(parts)


def with_header(**fields: object) -> dict[str, Any]:
    header = dict(GOOD_HEADER)
    for name, value in fields.items():
        if value is DROP:
            header.pop(name, None)
        else:
            header[name] = value
    return header


# --- the forge helper itself: without this, "rejected" could just mean "badly built" ---------


def test_hand_built_token_with_the_right_key_is_accepted(codec: AccessTokenCodec) -> None:
    claims = codec.verify(forge(), now=NOW)
    assert claims == AccessClaims(
        user_id=USER,
        tenant_id=TENANT,
        session_id=SESSION,
        token_id=JTI,
        issued_at=NOW,
        expires_at=NOW + timedelta(seconds=TTL),
    )


# --- forgeries ----------------------------------------------------------------------------------

_UUID = "abcdef01-abcd-4abc-8abc-abcdef012345"  # has letters, so case matters
_ATTACKER_KEY = "attacker-controlled-key-0123456789-abcdefghijklmnop"

# Each builder gets an honest codec (some cases start from a real token) and returns the token.
Builder = Callable[[AccessTokenCodec], str]

FORGERIES: list[Any] = [
    # Algorithm confusion and "none".
    pytest.param(
        lambda c: f"{seg({'alg': 'none', 'typ': 'JWT'})}.{seg(good_claims())}.",
        id="alg-none-empty-sig",
    ),
    pytest.param(lambda c: forge({"alg": "none", "typ": "JWT"}), id="alg-none-with-hmac-sig"),
    pytest.param(
        lambda c: f"{seg({'alg': 'None'})}.{seg(good_claims())}.", id="alg-None-capitalised"
    ),
    pytest.param(lambda c: f"{seg({'alg': 'NONE'})}.{seg(good_claims())}.", id="alg-NONE-upper"),
    pytest.param(lambda c: forge({"typ": "JWT"}), id="alg-missing"),
    pytest.param(lambda c: forge({"alg": None}), id="alg-null"),
    pytest.param(lambda c: forge({"alg": ["HS256"]}), id="alg-list"),
    pytest.param(lambda c: forge({"alg": "hs256"}), id="alg-lowercase"),
    pytest.param(lambda c: forge({"alg": "HS384"}, digest=hashlib.sha384), id="hs384-same-key"),
    pytest.param(lambda c: forge({"alg": "HS512"}, digest=hashlib.sha512), id="hs512-same-key"),
    pytest.param(lambda c: forge({"alg": "HS512"}), id="hs512-header-hs256-sig"),
    pytest.param(lambda c: forge({"alg": "RS256", "typ": "JWT"}), id="rs256-header-hmac-sig"),
    pytest.param(lambda c: forge({"alg": "ES256", "typ": "JWT"}), id="es256-header-hmac-sig"),
    pytest.param(lambda c: forge({"alg": "PS256"}), id="ps256-header-hmac-sig"),
    pytest.param(lambda c: forge({"alg": "EdDSA"}), id="eddsa-header-hmac-sig"),
    # Signatures.
    pytest.param(lambda c: forge(key=OTHER_KEY), id="signed-with-another-key"),
    pytest.param(lambda c: forge(key=b""), id="signed-with-empty-key"),
    pytest.param(lambda c: forge(key=KEY[:-1]), id="signed-with-truncated-key"),
    pytest.param(lambda c: swap_segment(issued(c), 2, ""), id="signature-empty"),
    pytest.param(
        lambda c: swap_segment(issued(c), 2, issued(c).split(".")[2][:-4]), id="signature-truncated"
    ),
    pytest.param(
        lambda c: swap_segment(
            issued(c),
            2,
            ("B" if issued(c).split(".")[2][0] == "A" else "A") + issued(c).split(".")[2][1:],
        ),
        id="signature-one-char-changed",
    ),
    pytest.param(lambda c: swap_segment(issued(c), 2, b64(b"\x00" * 32)), id="signature-zeros"),
    pytest.param(lambda c: swap_segment(issued(c), 2, "!!!!"), id="signature-not-base64"),
    pytest.param(
        lambda c: swap_segment(issued(c), 1, seg(good_claims(sub=str(uuid.uuid4())))),
        id="payload-tampered-original-sig",
    ),
    pytest.param(
        lambda c: swap_segment(issued(c), 1, seg(good_claims(tid=str(uuid.uuid4())))),
        id="tenant-tampered-original-sig",
    ),
    pytest.param(
        lambda c: swap_segment(issued(c), 0, seg({"alg": "HS256"})),
        id="header-tampered-original-sig",
    ),
    # Header fields that might pick a key: ours is used regardless, so the attacker's key fails.
    pytest.param(
        lambda c: forge(
            with_header(jwk={"kty": "oct", "k": b64(_ATTACKER_KEY.encode())}), key=_ATTACKER_KEY
        ),
        id="embedded-jwk-attacker-key",
    ),
    pytest.param(
        lambda c: forge(with_header(jku="https://evil.example/jwks.json"), key=_ATTACKER_KEY),
        id="jku-attacker-key",
    ),
    pytest.param(
        lambda c: forge(with_header(x5u="https://evil.example/cert.pem"), key=_ATTACKER_KEY),
        id="x5u-attacker-key",
    ),
    pytest.param(
        lambda c: forge(with_header(kid="attacker"), key=_ATTACKER_KEY), id="kid-attacker-key"
    ),
    pytest.param(
        lambda c: forge(with_header(kid="../../dev/null"), key=b""), id="kid-path-empty-key"
    ),
    # Headers we never emit that change verification, even with our key.
    pytest.param(
        lambda c: sign(
            seg(with_header(b64=False, crit=["b64"])),
            json.dumps(good_claims(), separators=(",", ":")),
        ),
        id="rfc7797-unencoded-payload",
    ),
    pytest.param(lambda c: forge(with_header(crit=["exp"])), id="crit-unknown"),
    pytest.param(lambda c: forge(with_header(crit=["kid"], kid="x")), id="crit-kid"),
    # Time.
    pytest.param(lambda c: forge(claims=good_claims(iat=T - 2000, exp=T - 1000)), id="expired"),
    pytest.param(
        lambda c: forge(claims=good_claims(iat=T - TTL, exp=T - LEEWAY_SECONDS)),
        id="expired-at-leeway-edge",
    ),
    pytest.param(lambda c: forge(claims=good_claims(nbf=T + 60)), id="nbf-in-future"),
    pytest.param(lambda c: forge(claims=good_claims(nbf="now")), id="nbf-not-numeric"),
    pytest.param(
        lambda c: forge(claims=good_claims(iat=T + 60, exp=T + 60 + TTL)), id="iat-in-future"
    ),
    pytest.param(lambda c: forge(claims=good_claims(iat=T, exp=T)), id="exp-equals-iat"),
    pytest.param(lambda c: forge(claims=good_claims(iat=T + 3, exp=T + 1)), id="exp-before-iat"),
    pytest.param(lambda c: forge(claims=good_claims(exp=DROP)), id="exp-missing"),
    pytest.param(lambda c: forge(claims=good_claims(iat=DROP)), id="iat-missing"),
    pytest.param(lambda c: forge(claims=good_claims(exp=None)), id="exp-null"),
    pytest.param(lambda c: forge(claims=good_claims(exp=str(T + TTL))), id="exp-string"),
    pytest.param(lambda c: forge(claims=good_claims(iat=str(T))), id="iat-string"),
    pytest.param(lambda c: forge(claims=good_claims(exp=True)), id="exp-bool"),
    pytest.param(lambda c: forge(claims=good_claims(exp=[T + TTL])), id="exp-list"),
    pytest.param(lambda c: forge(claims=good_claims(exp=10**30)), id="exp-out-of-range"),
    pytest.param(
        lambda c: forge_raw_payload(
            json.dumps(good_claims()).replace(f'"exp": {T + TTL}', '"exp": NaN')
        ),
        id="exp-nan",
    ),
    pytest.param(
        lambda c: forge_raw_payload(
            json.dumps(good_claims()).replace(f'"exp": {T + TTL}', '"exp": 1e999')
        ),
        id="exp-infinity",
    ),
    pytest.param(
        lambda c: forge_raw_payload(
            json.dumps(good_claims()).replace(f'"iat": {T}', '"iat": -Infinity')
        ),
        id="iat-minus-infinity",
    ),
    # Issuer and audience.
    pytest.param(lambda c: forge(claims=good_claims(iss="someone-else")), id="iss-wrong"),
    pytest.param(lambda c: forge(claims=good_claims(iss=DROP)), id="iss-missing"),
    pytest.param(lambda c: forge(claims=good_claims(iss="")), id="iss-empty"),
    pytest.param(lambda c: forge(claims=good_claims(iss=["tenantflow"])), id="iss-list"),
    pytest.param(lambda c: forge(claims=good_claims(aud="another-api")), id="aud-wrong"),
    pytest.param(lambda c: forge(claims=good_claims(aud=DROP)), id="aud-missing"),
    pytest.param(lambda c: forge(claims=good_claims(aud=None)), id="aud-null"),
    pytest.param(lambda c: forge(claims=good_claims(aud="")), id="aud-empty"),
    pytest.param(lambda c: forge(claims=good_claims(aud=[])), id="aud-empty-list"),
    pytest.param(
        lambda c: forge(claims=good_claims(aud=["another-api", "billing"])),
        id="aud-list-without-ours",
    ),
    pytest.param(
        lambda c: forge(claims=good_claims(aud="tenantflow-api-evil")), id="aud-superstring"
    ),
    pytest.param(lambda c: forge(claims=good_claims(aud=1)), id="aud-number"),
    # Identity claims: missing, and not a canonical UUID string.
    *[
        pytest.param(lambda c, n=name: forge(claims=good_claims(**{n: DROP})), id=f"{name}-missing")
        for name in ("sub", "tid", "sid", "jti")
    ],
    *[
        pytest.param(
            lambda c, n=name, v=value: forge(claims=good_claims(**{n: v})), id=f"{name}-{label}"
        )
        for name in ("sub", "tid", "sid", "jti")
        for label, value in (
            ("not-a-uuid", "not-a-uuid"),
            ("empty", ""),
            ("null", None),
            ("number", 12345),
            ("uuid-as-int", USER.int),
            ("uppercase", _UUID.upper()),
            ("braces", "{" + _UUID + "}"),
            ("urn", "urn:uuid:" + _UUID),
            ("bare-hex", uuid.UUID(_UUID).hex),
            ("padded", " " + _UUID),
            ("list", [_UUID]),
        )
    ],
    # Shapes that are not a JWS compact token at all.
    pytest.param(lambda c: "", id="empty"),
    pytest.param(lambda c: "garbage", id="garbage"),
    pytest.param(lambda c: ".", id="dot"),
    pytest.param(lambda c: "..", id="two-dots"),
    pytest.param(lambda c: "...", id="three-dots"),
    pytest.param(lambda c: "a.b.c", id="three-junk-segments"),
    pytest.param(lambda c: ".".join(issued(c).split(".")[:2]), id="two-segments"),
    pytest.param(lambda c: issued(c) + ".AAAA", id="four-segments"),
    pytest.param(lambda c: issued(c) + "..", id="five-segments-jwe-shape"),
    pytest.param(lambda c: issued(c) + " ", id="trailing-space"),
    pytest.param(lambda c: " " + issued(c), id="leading-space"),
    pytest.param(lambda c: "Bearer " + issued(c), id="with-bearer-prefix"),
    pytest.param(lambda c: issued(c).replace(".", ".\n", 1), id="embedded-newline"),
    pytest.param(lambda c: "é.é.é", id="non-ascii"),
    pytest.param(lambda c: "\x00.\x00.\x00", id="nul-bytes"),
    pytest.param(lambda c: sign(b64(b"not json"), seg(good_claims())), id="header-not-json"),
    pytest.param(lambda c: sign(seg(["HS256"]), seg(good_claims())), id="header-json-array"),
    pytest.param(
        lambda c: sign(seg("alg HS256"), seg(good_claims())), id="header-json-string-containing-alg"
    ),
    pytest.param(lambda c: sign(seg(GOOD_HEADER), seg([good_claims()])), id="payload-json-array"),
    pytest.param(lambda c: sign(seg(GOOD_HEADER), seg("claims")), id="payload-json-string"),
    pytest.param(
        lambda c: sign(seg(GOOD_HEADER), b64(b"\xff\xfe not utf-8")), id="payload-not-utf8"
    ),
    pytest.param(lambda c: sign(seg(GOOD_HEADER), "!!!"), id="payload-not-base64"),
    pytest.param(lambda c: forge_raw_payload("[" * 3000 + "]" * 3000), id="payload-deeply-nested"),
    # Size: a correctly signed token over the limit proves the length check, not the signature.
    pytest.param(
        lambda c: forge(claims=good_claims(pad="x" * MAX_TOKEN_LENGTH)), id="oversized-but-signed"
    ),
    pytest.param(lambda c: "a" * (MAX_TOKEN_LENGTH + 1), id="oversized-junk"),
    pytest.param(lambda c: "eyJ" + "A" * 10_000_000, id="ten-megabytes"),
]


@pytest.mark.parametrize("build", FORGERIES)
def test_forgery_is_refused(codec: AccessTokenCodec, build: Builder) -> None:
    token = build(codec)
    assert codec.verify(token, now=NOW) is None


@pytest.mark.parametrize("value", [None, 123, b"bytes", ["a.b.c"]])
def test_non_string_input_is_refused(codec: AccessTokenCodec, value: object) -> None:
    assert codec.verify(value, now=NOW) is None  # type: ignore[arg-type]


def test_random_mutations_never_raise_nor_change_identity(codec: AccessTokenCodec) -> None:
    token = issued(codec)
    original = codec.verify(token, now=NOW)
    assert original is not None
    alphabet = "AQgw_-.="
    for index in range(len(token)):
        for replacement in alphabet:
            mutated = token[:index] + replacement + token[index + 1 :]
            result = codec.verify(mutated, now=NOW)
            # base64 leaves a few spare bits in a segment's last character, so a handful of
            # spellings decode to the same bytes; any accepted token must be the same token.
            assert result is None or result == original


# --- what a good token looks like ------------------------------------------------------------


def test_round_trip(codec: AccessTokenCodec) -> None:
    token, claims = codec.issue(user_id=USER, tenant_id=TENANT, session_id=SESSION, now=NOW)
    assert codec.verify(token, now=NOW) == claims
    assert (claims.user_id, claims.tenant_id, claims.session_id) == (USER, TENANT, SESSION)
    assert claims.issued_at == NOW
    assert claims.expires_at == NOW + timedelta(seconds=TTL)
    assert claims.issued_at.tzinfo is UTC
    assert claims.token_id.version == 4


def test_issued_token_shape(codec: AccessTokenCodec) -> None:
    header_segment, payload_segment, signature_segment = issued(codec).split(".")
    pad = "=="
    assert json.loads(base64.urlsafe_b64decode(header_segment + pad)) == GOOD_HEADER
    payload = json.loads(base64.urlsafe_b64decode(payload_segment + pad))
    assert payload["iss"] == "tenantflow"
    assert payload["aud"] == "tenantflow-api"
    assert payload["exp"] - payload["iat"] == TTL
    assert "role" not in payload  # the role comes from the membership, never the token
    assert len(base64.urlsafe_b64decode(signature_segment + pad)) == 32


def test_each_token_has_its_own_id(codec: AccessTokenCodec) -> None:
    first = codec.issue(user_id=USER, tenant_id=TENANT, session_id=SESSION, now=NOW)[1]
    second = codec.issue(user_id=USER, tenant_id=TENANT, session_id=SESSION, now=NOW)[1]
    assert first.token_id != second.token_id


def test_now_defaults_to_the_clock(codec: AccessTokenCodec) -> None:
    token, claims = codec.issue(user_id=USER, tenant_id=TENANT, session_id=SESSION)
    assert abs(claims.issued_at - datetime.now(UTC)) < timedelta(seconds=5)
    assert codec.verify(token) == claims


def test_ttl_is_honoured() -> None:
    codec = AccessTokenCodec(KEY, ttl_seconds=60)
    token, claims = codec.issue(user_id=USER, tenant_id=TENANT, session_id=SESSION, now=NOW)
    assert claims.expires_at == NOW + timedelta(seconds=60)
    assert codec.verify(token, now=NOW + timedelta(seconds=59)) == claims
    # Expiry is enforced with LEEWAY_SECONDS of tolerance for clock skew between processes.
    edge = NOW + timedelta(seconds=60 + LEEWAY_SECONDS)
    assert codec.verify(token, now=edge - timedelta(seconds=1)) == claims
    assert codec.verify(token, now=edge) is None
    assert codec.verify(token, now=NOW + timedelta(hours=1)) is None


def test_clock_skew_tolerance_for_issue_time(codec: AccessTokenCodec) -> None:
    token = issued(codec)
    assert codec.verify(token, now=NOW - timedelta(seconds=LEEWAY_SECONDS)) is not None
    assert codec.verify(token, now=NOW - timedelta(seconds=LEEWAY_SECONDS + 1)) is None


def test_token_from_a_codec_with_another_key_is_refused(codec: AccessTokenCodec) -> None:
    token, _ = AccessTokenCodec(OTHER_KEY, ttl_seconds=TTL).issue(
        user_id=USER, tenant_id=TENANT, session_id=SESSION, now=NOW
    )
    assert codec.verify(token, now=NOW) is None


@pytest.mark.parametrize(
    ("issuer", "audience"), [("tenantflow-staging", "tenantflow-api"), ("tenantflow", "other")]
)
def test_tokens_for_another_issuer_or_audience_are_refused(
    codec: AccessTokenCodec, issuer: str, audience: str
) -> None:
    other = AccessTokenCodec(KEY, ttl_seconds=TTL, issuer=issuer, audience=audience)
    token, claims = other.issue(user_id=USER, tenant_id=TENANT, session_id=SESSION, now=NOW)
    assert other.verify(token, now=NOW) == claims
    assert codec.verify(token, now=NOW) is None


def test_registered_header_fields_do_not_choose_the_key(codec: AccessTokenCodec) -> None:
    # Signed with our key, a `kid`/`jku` naming something else changes nothing: the key is fixed.
    token = forge(with_header(kid="elsewhere", jku="https://evil.example/jwks.json"))
    assert codec.verify(token, now=NOW) is not None


def test_audience_list_containing_ours_is_accepted(codec: AccessTokenCodec) -> None:
    # RFC 7519 4.1.3: `aud` may be an array; it is ours when it names us.
    token = forge(claims=good_claims(aud=["billing", "tenantflow-api"]))
    assert codec.verify(token, now=NOW) is not None


def test_extra_claims_are_ignored(codec: AccessTokenCodec) -> None:
    token = forge(claims=good_claims(role="OWNER", nbf=T - 10))
    claims = codec.verify(token, now=NOW)
    assert claims is not None
    assert claims.user_id == USER


@pytest.mark.parametrize("key", ["", "short", "x" * 31, "é" * 15])
def test_short_signing_key_is_refused(key: str) -> None:
    with pytest.raises(ValueError, match="at least 32 bytes") as error:
        AccessTokenCodec(key, ttl_seconds=TTL)
    if key:
        assert key not in str(error.value)


def test_key_of_exactly_32_bytes_is_enough() -> None:
    codec = AccessTokenCodec("x" * 32, ttl_seconds=TTL)
    token = codec.issue(user_id=USER, tenant_id=TENANT, session_id=SESSION, now=NOW)[0]
    assert codec.verify(token, now=NOW) is not None


@pytest.mark.parametrize("ttl", [0, -1])
def test_ttl_must_be_positive(ttl: int) -> None:
    with pytest.raises(ValueError, match="ttl_seconds"):
        AccessTokenCodec(KEY, ttl_seconds=ttl)


def test_naive_now_is_a_programming_error(codec: AccessTokenCodec) -> None:
    naive = datetime(2025, 6, 1, 12)
    with pytest.raises(ValueError, match="timezone-aware"):
        codec.issue(user_id=USER, tenant_id=TENANT, session_id=SESSION, now=naive)
    with pytest.raises(ValueError, match="timezone-aware"):
        codec.verify(issued(codec), now=naive)


# --- opaque secrets (tenantflow.auth.secrets) ---------------------------------------------------

URLSAFE = set("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_")


@pytest.mark.parametrize(
    ("make", "prefix"),
    [(new_refresh_token, "tfr_"), (new_invitation_token, "tfi_"), (new_api_key, "tfk_")],
)
def test_opaque_secrets_shape_and_uniqueness(make: Callable[[], str], prefix: str) -> None:
    values = {make() for _ in range(200)}
    assert len(values) == 200
    for value in values:
        assert value.startswith(prefix)
        random_part = value.removeprefix(prefix)
        assert len(random_part) == 43  # 32 bytes: the contract asks for at least 32 characters
        assert set(random_part) <= URLSAFE


def test_api_key_prefix_is_the_first_12_characters() -> None:
    key = new_api_key()
    assert api_key_prefix(key) == key[:12]
    assert len(api_key_prefix(key)) == 12
    assert api_key_prefix(key).startswith("tfk_")


def test_hash_token() -> None:
    token = new_refresh_token()
    digest = hash_token(token)
    assert digest == hashlib.sha256(token.encode()).hexdigest()
    assert len(digest) == 64
    assert digest == hash_token(token)
    assert digest != hash_token(new_refresh_token())
    assert token not in digest


def test_looks_like_api_key() -> None:
    key = new_api_key()
    assert looks_like_api_key(key)
    assert not looks_like_api_key(key[:-1])
    assert not looks_like_api_key(key + "A")
    assert not looks_like_api_key(key + "\n")
    assert not looks_like_api_key("TFK_" + key[4:])
    assert not looks_like_api_key("tfk_" + "!" * 43)
    assert not looks_like_api_key("tfk_" + "é" * 43)
    assert not looks_like_api_key(new_refresh_token())
    assert not looks_like_api_key(new_invitation_token())
    assert not looks_like_api_key("")


def test_jwt_is_not_mistaken_for_an_api_key(codec: AccessTokenCodec) -> None:
    assert not looks_like_api_key(issued(codec))
