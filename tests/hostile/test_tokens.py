"""Forged tokens under production settings, over HTTP and at connection_init: every forgery of
tests/api/test_auth_tokens.py (alg none, HS/RS confusion, other keys, tampered claims, expired,
wrong issuer or audience, missing claims, ...) is the same as no token, and so is a correctly
signed token naming the other tenant or its user."""

from __future__ import annotations

from typing import Any

import pytest

from tenantflow.auth.tokens import AccessTokenCodec
from tenantflow.enums import Role
from tenantflow.settings import Settings
from tests.api.conftest import Member
from tests.api.test_auth_tokens import FORGERIES, Forger, Forgery
from tests.hostile.conftest import Pair

DATA = "{ tenant { id } workflows { totalCount } }"


def member_of(pair: Pair, settings: Settings) -> tuple[Member, str]:
    """Tenant a's owner as the forger sees it, and its session id."""
    claims = AccessTokenCodec(settings.signing_key, ttl_seconds=900).verify(pair.a.token)
    assert claims is not None
    member = Member(pair.a.tenant_id, pair.a.user_id, Role.OWNER, "", pair.a.token)
    return member, str(claims.session_id)


async def refused(pair: Pair, token: str) -> None:
    _, viewer = await pair.api.post("{ viewer { role } }", token=token)
    assert viewer["data"] == {"viewer": None}, viewer
    _, body = await pair.api.post(DATA, token=token)
    codes = [e.get("extensions", {}).get("code") for e in body.get("errors", [])]
    assert codes == ["UNAUTHENTICATED"], body
    assert await pair.api.init_answer(token) == 4403


async def test_the_forger_builds_tokens_the_server_accepts(pair: Pair, settings: Settings) -> None:
    # without this, "refused" below could mean "badly built"
    member, session_id = member_of(pair, settings)
    status, body = await pair.api.post(
        DATA, token=Forger(member, session_id, settings.signing_key).token()
    )
    assert status == 200
    assert "errors" not in body, body


@pytest.mark.parametrize("forge", FORGERIES)
async def test_a_forged_token_is_no_token(pair: Pair, settings: Settings, forge: Forgery) -> None:
    member, session_id = member_of(pair, settings)
    await refused(pair, forge(Forger(member, session_id, settings.signing_key)))


@pytest.mark.parametrize(
    "claims",
    [
        pytest.param(lambda p: {"tid": str(p.b.tenant_id)}, id="the-other-tenant"),
        pytest.param(lambda p: {"sub": str(p.b.user_id)}, id="the-other-tenants-user"),
        pytest.param(
            lambda p: {"sub": str(p.b.user_id), "tid": str(p.b.tenant_id)},
            id="the-other-user-with-my-session",
        ),
    ],
)
async def test_a_well_signed_token_naming_the_other_tenant_is_no_token(
    pair: Pair, settings: Settings, claims: Any
) -> None:
    member, session_id = member_of(pair, settings)
    await refused(pair, Forger(member, session_id, settings.signing_key).token(**claims(pair)))
