"""Credentials through the API: forged tokens, revocation on the next request (in every server
process), deleted tenants. tests/auth/test_tokens.py covers the codec itself; here each forgery
must also fail to reach the data of the real member it imitates.

Revocation is read from the database on every request (tenantflow/auth/credentials.py), so a
second server process sees it without Redis: the two-process test runs two applications on one
database and no Redis.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import uuid
from collections.abc import AsyncIterator, Callable
from datetime import timedelta
from typing import Any

import httpx
import pytest
from asgi_lifespan import LifespanManager
from starlette.types import ASGIApp, Message

from tenantflow.app import build_app
from tenantflow.auth.tokens import AccessTokenCodec
from tenantflow.db.types import utcnow
from tenantflow.schema.ids import to_global_id
from tenantflow.settings import Settings
from tests.api.auth_helpers import TENANT_ID, is_signed_in
from tests.api.conftest import GraphQLClient, Member, Members, error_codes
from tests.web.test_graphql_http import WebSocketSession

REMOVE_MEMBER = """
mutation($id: ID!) { removeMember(userId: $id) { __typename ... on Error { message } } }
"""
DELETE_TENANT = "mutation { deleteTenant { __typename ... on DeletedPayload { id } } }"
CREATE_API_KEY = """
mutation($input: CreateApiKeyInput!) {
  createApiKey(input: $input) { ... on CreateApiKeyPayload { secret } }
}
"""
ATTACKER_KEY = "attacker-controlled-key-0123456789-abcdefghijklmnop"


def b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def segment(value: object) -> str:
    return b64(json.dumps(value, separators=(",", ":")).encode())


def sign(header: dict[str, Any], claims: dict[str, Any], key: str, digest: Any) -> str:
    signing_input = f"{segment(header)}.{segment(claims)}"
    signature = hmac.new(key.encode(), signing_input.encode(), digest).digest()
    return f"{signing_input}.{b64(signature)}"


class Forger:
    """Builds tokens by hand for a real member, with the server's key unless told otherwise."""

    def __init__(self, member: Member, session_id: str, key: str) -> None:
        now = int(utcnow().timestamp())
        self.key = key
        self.claims: dict[str, Any] = {
            "iss": "tenantflow",
            "aud": "tenantflow-api",
            "sub": str(member.user_id),
            "tid": str(member.tenant_id),
            "sid": session_id,
            "jti": str(uuid.uuid4()),
            "iat": now,
            "exp": now + 900,
        }

    def token(
        self,
        header: dict[str, Any] | None = None,
        *,
        key: str | None = None,
        digest: Any = hashlib.sha256,
        **claims: Any,
    ) -> str:
        payload = {**self.claims, **claims}
        payload = {name: value for name, value in payload.items() if value is not DROP}
        return sign(header or {"alg": "HS256", "typ": "JWT"}, payload, key or self.key, digest)


DROP = object()
Forgery = Callable[[Forger], str]
FORGERIES: list[Any] = [
    pytest.param(lambda f: f"{segment({'alg': 'none'})}.{f.token().split('.')[1]}.", id="alg-none"),
    pytest.param(lambda f: f.token({"alg": "none"}), id="alg-none-with-signature"),
    pytest.param(lambda f: f.token({"alg": "HS512"}, digest=hashlib.sha512), id="hs512"),
    pytest.param(lambda f: f.token({"alg": "HS384"}, digest=hashlib.sha384), id="hs384"),
    pytest.param(lambda f: f.token({"alg": "RS256"}), id="rs256-header"),
    pytest.param(lambda f: f.token(key=ATTACKER_KEY), id="another-key"),
    pytest.param(
        lambda f: f.token(
            {"alg": "HS256", "jwk": {"kty": "oct", "k": b64(ATTACKER_KEY.encode())}},
            key=ATTACKER_KEY,
        ),
        id="embedded-jwk",
    ),
    pytest.param(
        lambda f: f.token({"alg": "HS256", "kid": "attacker"}, key=ATTACKER_KEY), id="kid"
    ),
    pytest.param(lambda f: f.token({"alg": "HS256", "crit": ["exp"]}), id="crit"),
    pytest.param(
        lambda f: f.token(iat=f.claims["iat"] - 2000, exp=f.claims["iat"] - 1000), id="expired"
    ),
    pytest.param(lambda f: f.token(nbf=f.claims["iat"] + 600), id="not-yet-valid"),
    pytest.param(
        lambda f: f.token(iat=f.claims["iat"] + 600, exp=f.claims["exp"] + 600),
        id="issued-in-the-future",
    ),
    pytest.param(lambda f: f.token(iss="someone-else"), id="wrong-issuer"),
    pytest.param(lambda f: f.token(aud="another-api"), id="wrong-audience"),
    *[
        pytest.param(lambda f, n=name: f.token(**{n: DROP}), id=f"{name}-missing")
        for name in ("iss", "aud", "sub", "tid", "sid", "jti", "iat", "exp")
    ],
    pytest.param(lambda f: f.token(sub="not-a-uuid"), id="sub-not-a-uuid"),
    pytest.param(
        lambda f: f"{f.token().rsplit('.', 1)[0]}.{b64(b'0' * 32)}",
        id="signature-replaced",
    ),
    pytest.param(
        lambda f: ".".join(
            [
                f.token().split(".")[0],
                segment({**f.claims, "sub": str(uuid.uuid4())}),
                f.token().split(".")[2],
            ]
        ),
        id="claims-tampered",
    ),
    pytest.param(lambda f: f.token() + "x", id="trailing-garbage"),
    pytest.param(lambda f: "not.a.token", id="junk"),
]


@pytest.fixture
async def owner_with_session(members: Members) -> tuple[Member, str]:
    """A member and the session id its token carries."""
    owner = await members.tenant()
    claims = members.codec.verify(owner.token)
    assert claims is not None
    return owner, str(claims.session_id)


async def test_a_hand_built_token_with_the_servers_key_is_accepted(
    gql: GraphQLClient, settings: Settings, owner_with_session: tuple[Member, str]
) -> None:
    # Without this, "refused" below could just mean "badly built".
    owner, session_id = owner_with_session
    token = Forger(owner, session_id, settings.signing_key).token()
    data = await gql.ok(TENANT_ID, token=token)
    assert data == {"tenant": {"id": to_global_id("Tenant", owner.tenant_id)}}


@pytest.mark.parametrize("forge", FORGERIES)
async def test_a_forged_token_is_the_same_as_no_token(
    gql: GraphQLClient,
    settings: Settings,
    owner_with_session: tuple[Member, str],
    forge: Forgery,
) -> None:
    owner, session_id = owner_with_session
    token = forge(Forger(owner, session_id, settings.signing_key))
    assert await gql.ok("{ viewer { role } }", token=token) == {"viewer": None}
    assert error_codes(await gql.execute(TENANT_ID, token=token)) == ["UNAUTHENTICATED"]


async def test_a_genuine_token_for_a_tenant_the_user_left_or_never_joined_is_refused(
    gql: GraphQLClient, settings: Settings, members: Members
) -> None:
    # given a correctly signed token naming another tenant than the user's
    mine = await members.tenant()
    theirs = await members.tenant()
    claims = members.codec.verify(mine.token)
    assert claims is not None
    codec = AccessTokenCodec(settings.signing_key, ttl_seconds=900)
    token, _ = codec.issue(
        user_id=mine.user_id, tenant_id=theirs.tenant_id, session_id=claims.session_id
    )
    # then
    assert not await is_signed_in(gql, token)


async def test_an_expired_token_is_refused(
    gql: GraphQLClient, settings: Settings, members: Members
) -> None:
    owner = await members.tenant()
    claims = members.codec.verify(owner.token)
    assert claims is not None
    codec = AccessTokenCodec(settings.signing_key, ttl_seconds=900)
    token, _ = codec.issue(
        user_id=owner.user_id,
        tenant_id=owner.tenant_id,
        session_id=claims.session_id,
        now=utcnow() - timedelta(minutes=16),
    )
    assert not await is_signed_in(gql, token)


@pytest.fixture
async def second_app(settings: Settings) -> AsyncIterator[ASGIApp]:
    """Another application instance on the same database, as a second server process would be."""
    async with LifespanManager(build_app(settings)) as manager:
        yield manager.app


@pytest.fixture
async def second_process(second_app: ASGIApp) -> AsyncIterator[GraphQLClient]:
    transport = httpx.ASGITransport(app=second_app)
    async with httpx.AsyncClient(transport=transport, base_url="http://second") as http:
        yield GraphQLClient(http)


async def test_a_removed_members_token_is_refused_on_its_next_request_in_every_process(
    gql: GraphQLClient, second_process: GraphQLClient, members: Members
) -> None:
    # given a member whose token both processes accept
    owner = await members.tenant()
    member = await members.member(owner.tenant_id)
    assert await is_signed_in(gql, member.token)
    assert await is_signed_in(second_process, member.token)
    # when the owner removes it through the first process
    data = await gql.ok(REMOVE_MEMBER, {"id": to_global_id("User", member.user_id)}, as_=owner)
    assert data["removeMember"]["__typename"] == "DeletedPayload"
    # then its still unexpired token is refused by both
    assert not await is_signed_in(second_process, member.token)
    assert not await is_signed_in(gql, member.token)
    assert await is_signed_in(second_process, owner.token)


async def test_a_deleted_tenants_tokens_and_api_keys_are_refused_at_once(
    gql: GraphQLClient, second_process: GraphQLClient, members: Members
) -> None:
    # given
    owner = await members.tenant()
    colleague = await members.member(owner.tenant_id)
    created = await gql.ok(CREATE_API_KEY, {"input": {"name": "ci", "role": "ADMIN"}}, as_=owner)
    api_key = created["createApiKey"]["secret"]
    assert await is_signed_in(second_process, api_key)
    # when
    data = await gql.ok(DELETE_TENANT, as_=owner)
    assert data["deleteTenant"] == {
        "__typename": "DeletedPayload",
        "id": to_global_id("Tenant", owner.tenant_id),
    }
    # then
    for client in (gql, second_process):
        for token in (owner.token, colleague.token, api_key):
            assert not await is_signed_in(client, token)


async def websocket_answer(app: ASGIApp, init_payload: dict[str, object] | None) -> Message:
    """What the server answers a graphql-transport-ws connection_init with."""
    async with WebSocketSession(app, "/graphql", ["graphql-transport-ws"]) as ws:
        assert (await ws.receive())["type"] == "websocket.accept"
        message: dict[str, object] = {"type": "connection_init"}
        if init_payload is not None:
            message["payload"] = init_payload
        await ws.send_json(message)
        return await ws.receive()


async def test_websocket_connection_init_authenticates(
    second_app: ASGIApp, settings: Settings, owner_with_session: tuple[Member, str]
) -> None:
    owner, session_id = owner_with_session
    forged = Forger(owner, session_id, settings.signing_key).token(key=ATTACKER_KEY)
    payloads: list[dict[str, object] | None] = [
        None,
        {},
        {"authorization": "Bearer " + forged},
        {"authorization": 42},
    ]
    for payload in payloads:
        answer = await websocket_answer(second_app, payload)
        assert (answer["type"], answer.get("code")) == ("websocket.close", 4403), payload
    accepted = await websocket_answer(second_app, {"authorization": f"Bearer {owner.token}"})
    assert accepted["type"] == "websocket.send"
    assert json.loads(accepted["text"]) == {"type": "connection_ack"}


async def test_unknown_api_keys_are_refused(gql: GraphQLClient) -> None:
    for key in ("tfk_" + "A" * 43, "tfk_short", "tfk_" + "A" * 44):
        assert not await is_signed_in(gql, key)
