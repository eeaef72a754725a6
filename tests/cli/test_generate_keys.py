"""`tenantflow generate-keys` prints keys the server takes as they are."""

from __future__ import annotations

import base64
import uuid

import pytest

from tenantflow import cli
from tenantflow.auth.tokens import AccessTokenCodec
from tenantflow.secrets.envelope import MasterKey, MasterKeyring, new_data_key
from tenantflow.settings import Settings


def generated(capsys: pytest.CaptureFixture[str]) -> dict[str, str]:
    assert cli.main(["generate-keys"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert len(lines) == 2, lines
    pairs = dict(line.split("=", 1) for line in lines)
    assert set(pairs) == {"TENANTFLOW_SECRET_KEY", "TENANTFLOW_ENCRYPTION_KEYS"}
    return pairs


def test_the_printed_keys_sign_tokens_and_wrap_data_keys(
    capsys: pytest.CaptureFixture[str],
) -> None:
    # when
    keys = generated(capsys)
    # then the signing key issues tokens that verify
    codec = AccessTokenCodec(keys["TENANTFLOW_SECRET_KEY"], ttl_seconds=900)
    user, tenant, session = uuid.uuid4(), uuid.uuid4(), uuid.uuid4()
    token, _ = codec.issue(user_id=user, tenant_id=tenant, session_id=session)
    claims = codec.verify(token)
    assert claims is not None
    assert (claims.user_id, claims.tenant_id) == (user, tenant)
    # and the master key is 32 random bytes taken as they are, not a passphrase to derive from
    value = keys["TENANTFLOW_ENCRYPTION_KEYS"]
    assert "," not in value
    assert MasterKey.from_config(value).key_id == MasterKey.fingerprint(
        base64.urlsafe_b64decode(value + "=")
    )
    keyring = MasterKeyring([value])
    data_key = new_data_key()
    assert keyring.unwrap(keyring.wrap(data_key, tenant_id=tenant), tenant_id=tenant) == data_key


def test_production_settings_accept_them(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    for name, value in generated(capsys).items():
        monkeypatch.setenv(name, value)
    settings = Settings(env="production")
    assert settings.signing_key
    assert settings.master_keys


def test_it_runs_where_production_has_no_keys_yet(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("TENANTFLOW_ENV", "production")
    monkeypatch.delenv("TENANTFLOW_SECRET_KEY", raising=False)
    monkeypatch.delenv("TENANTFLOW_ENCRYPTION_KEYS", raising=False)
    assert generated(capsys)


def test_every_run_prints_new_keys(capsys: pytest.CaptureFixture[str]) -> None:
    first, second = generated(capsys), generated(capsys)
    assert all(first[name] != second[name] for name in first)
