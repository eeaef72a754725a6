"""The GraphQL HTTP layer: GraphQL-over-HTTP status codes and media types, refusals, body limit,
websocket subscriptions and the offline GraphiQL page, on a tiny schema of its own."""

from __future__ import annotations

import asyncio
import base64
import hashlib
import json
from collections.abc import AsyncGenerator, AsyncIterator
from html.parser import HTMLParser

import httpx
import pytest
import strawberry
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response
from starlette.routing import Route
from starlette.types import ASGIApp, Message, Scope
from starlette.websockets import WebSocket

from tenantflow.web.body_limit import BodyLimitMiddleware
from tenantflow.web.graphiql import graphiql_static_routes
from tenantflow.web.graphql_view import (
    GRAPHQL_RESPONSE_JSON,
    JSON,
    GraphQLView,
    graphql_routes,
    negotiate_media_type,
)

MAX_BYTES = 1_048_576

HELLO = "{ hello }"
ECHO = "query Echo($x: Int!) { echo(x: $x) }"
BUMP = "mutation { bump }"
COUNT = "subscription { count(to: 2) }"
UNPARSABLE = "{"
UNKNOWN_FIELD = "{ nope }"
FAILING_ROOT = "{ fail }"


def refusal(message: str) -> dict[str, object]:
    """The body of a request refused before GraphQL runs: a fixed message and a code."""
    return {"errors": [{"message": message, "extensions": {"code": "BAD_USER_INPUT"}}]}


@strawberry.type
class Query:
    @strawberry.field
    def hello(self) -> str:
        return "world"

    @strawberry.field
    def echo(self, x: int) -> int:
        return x

    @strawberry.field
    def fail(self) -> str:
        raise RuntimeError("resolver failed")


@strawberry.type
class Mutation:
    @strawberry.mutation
    def bump(self) -> int:
        return 1


@strawberry.type
class Subscription:
    @strawberry.subscription
    async def count(self, to: int) -> AsyncGenerator[int, None]:
        for value in range(1, to + 1):
            yield value


SCHEMA = strawberry.Schema(query=Query, mutation=Mutation, subscription=Subscription)


async def get_context(
    request: Request | WebSocket, response: Response | WebSocket
) -> dict[str, object]:
    return {"request": request, "response": response}


async def body_size(request: Request) -> Response:
    return PlainTextResponse(str(len(await request.body())))


def build_app(*, graphiql: bool = True) -> BodyLimitMiddleware:
    view = GraphQLView(SCHEMA, context_getter=get_context, graphiql=graphiql)
    routes = [
        *graphql_routes(view),
        *graphiql_static_routes(),
        Route("/body-size", body_size, methods=["POST"]),
    ]
    return BodyLimitMiddleware(Starlette(routes=routes), max_bytes=MAX_BYTES)


def _client(app: BodyLimitMiddleware) -> httpx.AsyncClient:
    return httpx.AsyncClient(transport=httpx.ASGITransport(app), base_url="http://testserver")


@pytest.fixture
async def gql() -> AsyncIterator[httpx.AsyncClient]:
    async with _client(build_app()) as client:
        yield client


async def post(
    client: httpx.AsyncClient, body: object, *, accept: str | None = JSON
) -> httpx.Response:
    headers = {"accept": accept} if accept else {}
    return await client.post("/graphql", json=body, headers=headers)


def media_type(response: httpx.Response) -> str:
    return response.headers["content-type"].split(";")[0].strip()


# -- GET and POST ---------------------------------------------------------------------------------


async def test_get_runs_a_query(gql: httpx.AsyncClient) -> None:
    # when
    response = await gql.get("/graphql", params={"query": HELLO}, headers={"accept": JSON})
    # then
    assert response.status_code == 200
    assert media_type(response) == JSON
    assert response.json() == {"data": {"hello": "world"}}


async def test_get_takes_json_variables(gql: httpx.AsyncClient) -> None:
    params = {"query": ECHO, "variables": '{"x": 7}', "operationName": ""}
    response = await gql.get("/graphql", params=params, headers={"accept": JSON})
    assert response.status_code == 200
    assert response.json() == {"data": {"echo": 7}}


async def test_get_refuses_a_mutation_with_405(gql: httpx.AsyncClient) -> None:
    response = await gql.get(
        "/graphql", params={"query": BUMP}, headers={"accept": GRAPHQL_RESPONSE_JSON}
    )
    assert response.status_code == 405
    assert response.headers["allow"] == "POST"
    assert response.json()["errors"][0]["message"]


async def test_post_runs_a_mutation(gql: httpx.AsyncClient) -> None:
    response = await post(gql, {"query": BUMP})
    assert response.status_code == 200
    assert media_type(response) == JSON
    assert response.json() == {"data": {"bump": 1}}


async def test_post_without_accept_answers_application_json(gql: httpx.AsyncClient) -> None:
    response = await post(gql, {"query": HELLO}, accept=None)
    assert response.status_code == 200
    assert media_type(response) == JSON


async def test_other_methods_get_405(gql: httpx.AsyncClient) -> None:
    response = await gql.put("/graphql", json={"query": HELLO})
    assert response.status_code == 405
    assert response.headers["allow"] == "GET, POST"


# -- application/graphql-response+json and application/json status codes -------------------------


async def test_graphql_response_json_is_200_when_execution_ran(gql: httpx.AsyncClient) -> None:
    response = await post(gql, {"query": HELLO}, accept=GRAPHQL_RESPONSE_JSON)
    assert response.status_code == 200
    assert media_type(response) == GRAPHQL_RESPONSE_JSON
    assert response.json() == {"data": {"hello": "world"}}


@pytest.mark.parametrize(
    "body",
    [
        pytest.param({"query": UNPARSABLE}, id="parse-error"),
        pytest.param({"query": UNKNOWN_FIELD}, id="validation-error"),
        pytest.param({"query": ECHO, "variables": {"x": "seven"}}, id="bad-variable"),
        pytest.param({"query": ECHO}, id="missing-variable"),
        pytest.param({"query": HELLO, "operationName": "Nope"}, id="unknown-operation"),
        pytest.param({"query": COUNT}, id="subscription-over-http"),
    ],
)
async def test_request_errors_by_media_type(gql: httpx.AsyncClient, body: object) -> None:
    # when: the same request error, asked for in each media type
    modern = await post(gql, body, accept=GRAPHQL_RESPONSE_JSON)
    legacy = await post(gql, body, accept=JSON)
    # then: 400 for graphql-response+json, 200 for application/json; never a data entry
    assert (modern.status_code, media_type(modern)) == (400, GRAPHQL_RESPONSE_JSON)
    assert (legacy.status_code, media_type(legacy)) == (200, JSON)
    for response in (modern, legacy):
        assert "data" not in response.json()
        assert response.json()["errors"][0]["message"]


async def test_field_error_that_nulls_the_root_is_still_200(gql: httpx.AsyncClient) -> None:
    response = await post(gql, {"query": FAILING_ROOT}, accept=GRAPHQL_RESPONSE_JSON)
    assert response.status_code == 200
    assert response.json()["data"] is None
    assert response.json()["errors"][0]["path"] == ["fail"]


async def test_accept_with_neither_media_type_gets_406(gql: httpx.AsyncClient) -> None:
    response = await post(gql, {"query": HELLO}, accept="text/plain")
    assert response.status_code == 406


@pytest.mark.parametrize(
    ("accept", "expected"),
    [
        (None, JSON),
        ("", JSON),
        ("*/*", JSON),
        ("application/*", JSON),
        (JSON, JSON),
        (GRAPHQL_RESPONSE_JSON, GRAPHQL_RESPONSE_JSON),
        (f"{GRAPHQL_RESPONSE_JSON}, {JSON}", GRAPHQL_RESPONSE_JSON),
        (f"{GRAPHQL_RESPONSE_JSON}; charset=utf-8, {JSON}; charset=utf-8", GRAPHQL_RESPONSE_JSON),
        (f"{JSON}, {GRAPHQL_RESPONSE_JSON}", JSON),
        (f"{GRAPHQL_RESPONSE_JSON};q=0.5, {JSON}", JSON),
        (f"{JSON};q=0, */*", GRAPHQL_RESPONSE_JSON),
        ("*/*;q=0.1, application/graphql-response+json", GRAPHQL_RESPONSE_JSON),
        ("text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8", JSON),
        (f"{JSON}, multipart/mixed", JSON),
        (f"{GRAPHQL_RESPONSE_JSON}; charset=utf-16", None),
        ("text/html", None),
    ],
)
def test_negotiate_media_type(accept: str | None, expected: str | None) -> None:
    assert negotiate_media_type(accept) == expected


# -- requests that are not well-formed -----------------------------------------------------------


@pytest.mark.parametrize(
    "body",
    [
        pytest.param({"qeury": HELLO}, id="missing-query"),
        pytest.param({"query": 1}, id="query-not-a-string"),
        pytest.param({"query": HELLO, "operationName": 0}, id="operation-name-not-a-string"),
        pytest.param({"query": HELLO, "variables": "x"}, id="variables-not-an-object"),
        pytest.param({"query": HELLO, "extensions": []}, id="extensions-not-an-object"),
        pytest.param("{ hello }", id="body-not-an-object"),
    ],
)
async def test_malformed_parameters_get_400(gql: httpx.AsyncClient, body: object) -> None:
    for accept in (JSON, GRAPHQL_RESPONSE_JSON):
        response = await post(gql, body, accept=accept)
        assert response.status_code == 400
        assert response.json()["errors"][0]["message"]


async def test_batching_is_refused_with_400(gql: httpx.AsyncClient) -> None:
    response = await post(gql, [{"query": HELLO}, {"query": HELLO}])
    assert response.status_code == 400
    assert response.json() == refusal("Batched requests are not supported")


@pytest.mark.parametrize("content", [b'{"query": ', b"", b"\xff\xfe"])
async def test_malformed_json_gets_400(gql: httpx.AsyncClient, content: bytes) -> None:
    response = await gql.post(
        "/graphql", content=content, headers={"content-type": JSON, "accept": JSON}
    )
    assert response.status_code == 400
    assert response.json() == refusal("Request body is not valid JSON")


@pytest.mark.parametrize(
    "content_type",
    [None, "text/plain", "application/x-www-form-urlencoded", f"{JSON}; charset=latin-1"],
)
async def test_unsupported_content_type_gets_415(
    gql: httpx.AsyncClient, content_type: str | None
) -> None:
    headers = {"content-type": content_type} if content_type else {}
    response = await gql.post("/graphql", content=b'{"query": "{ hello }"}', headers=headers)
    assert response.status_code == 415


# -- body size limit ------------------------------------------------------------------------------


async def test_declared_body_over_limit_gets_413(gql: httpx.AsyncClient) -> None:
    body = {"query": HELLO, "extensions": {"padding": "x" * MAX_BYTES}}
    response = await post(gql, body)
    assert response.status_code == 413
    assert response.json() == refusal("Request body too large")


async def test_streamed_body_over_limit_gets_413(gql: httpx.AsyncClient) -> None:
    async def chunks() -> AsyncIterator[bytes]:
        yield b'{"query": "{ hello }", "extensions": {"padding": "'
        for _ in range(20):
            yield b"x" * 65_536
        yield b'"}}'

    response = await gql.post("/graphql", content=chunks(), headers={"content-type": JSON})
    assert "content-length" not in response.request.headers
    assert response.status_code == 413


async def test_body_limit_covers_other_routes(gql: httpx.AsyncClient) -> None:
    at_limit = await gql.post("/body-size", content=b"x" * MAX_BYTES)
    over_limit = await gql.post("/body-size", content=b"x" * (MAX_BYTES + 1))
    assert (at_limit.status_code, at_limit.text) == (200, str(MAX_BYTES))
    assert over_limit.status_code == 413


# -- websocket ------------------------------------------------------------------------------------


class WebSocketSession:
    """A websocket client speaking raw ASGI to the app (Starlette's TestClient needs httpx2)."""

    def __init__(self, app: ASGIApp, path: str, subprotocols: list[str]) -> None:
        self._app = app
        self._scope: Scope = {
            "type": "websocket",
            "asgi": {"version": "3.0"},
            "http_version": "1.1",
            "scheme": "ws",
            "server": ("testserver", 80),
            "client": ("127.0.0.1", 50000),
            "root_path": "",
            "path": path,
            "raw_path": path.encode(),
            "query_string": b"",
            "headers": [(b"host", b"testserver")],
            "subprotocols": subprotocols,
        }
        self._to_app: asyncio.Queue[Message] = asyncio.Queue()
        self._from_app: asyncio.Queue[Message] = asyncio.Queue()
        self._task: asyncio.Task[None] | None = None

    async def __aenter__(self) -> WebSocketSession:
        async def serve() -> None:
            await self._app(self._scope, self._to_app.get, self._from_app.put)

        self._task = asyncio.create_task(serve())
        await self._to_app.put({"type": "websocket.connect"})
        return self

    async def __aexit__(self, *_: object) -> None:
        await self._to_app.put({"type": "websocket.disconnect", "code": 1000})
        assert self._task is not None
        await asyncio.wait_for(self._task, timeout=5)

    async def receive(self) -> Message:
        return await asyncio.wait_for(self._from_app.get(), timeout=5)

    async def receive_json(self) -> object:
        message = await self.receive()
        assert message["type"] == "websocket.send", message
        return json.loads(message["text"])  # a KeyError here would mean a binary frame

    async def send_json(self, data: object) -> None:
        await self._to_app.put({"type": "websocket.receive", "text": json.dumps(data)})


async def test_subscription_over_graphql_transport_ws() -> None:
    async with WebSocketSession(build_app(), "/graphql", ["graphql-transport-ws"]) as ws:
        assert await ws.receive() == {
            "type": "websocket.accept",
            "subprotocol": "graphql-transport-ws",
            "headers": [],
        }
        await ws.send_json({"type": "connection_init"})
        assert await ws.receive_json() == {"type": "connection_ack"}
        await ws.send_json({"type": "subscribe", "id": "1", "payload": {"query": COUNT}})
        for count in (1, 2):
            assert await ws.receive_json() == {
                "type": "next",
                "id": "1",
                "payload": {"data": {"count": count}},
            }
        assert await ws.receive_json() == {"type": "complete", "id": "1"}


async def test_legacy_graphql_ws_protocol_is_off_by_default() -> None:
    async with WebSocketSession(build_app(), "/graphql", ["graphql-ws"]) as ws:
        accepted = await ws.receive()
        closed = await ws.receive()
    assert accepted["subprotocol"] is None
    assert (closed["type"], closed["code"]) == ("websocket.close", 4406)


# -- GraphiQL -------------------------------------------------------------------------------------


class _AssetRefs(HTMLParser):
    """(url, integrity) of every <script src> and <link href> of a page."""

    def __init__(self) -> None:
        super().__init__()
        self.refs: list[tuple[str, str | None]] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        found = dict(attrs)
        url = found.get("src") if tag == "script" else found.get("href") if tag == "link" else None
        if url is not None:
            self.refs.append((url, found.get("integrity")))


CONTENT_TYPES = {".js": {"text/javascript", "application/javascript"}, ".css": {"text/css"}}


async def test_graphiql_page_loads_only_local_assets(gql: httpx.AsyncClient) -> None:
    # when
    page = await gql.get("/graphql", headers={"accept": "text/html"})
    # then
    assert page.status_code == 200
    assert media_type(page) == "text/html"
    parser = _AssetRefs()
    parser.feed(page.text)
    assets = [(url, sri) for url, sri in parser.refs if not url.startswith("data:")]
    assert len(assets) == 7
    for url, integrity in assets:
        assert not url.startswith(("http://", "https://", "//")), url
        asset = await gql.get(url)
        assert asset.status_code == 200, url
        assert media_type(asset) in CONTENT_TYPES[url[url.rindex(".") :]], url
        digest = base64.b64encode(hashlib.sha384(asset.content).digest()).decode()
        assert integrity == f"sha384-{digest}", url


async def test_graphiql_page_keeps_websocket_subscriptions_and_headers_editor(
    gql: httpx.AsyncClient,
) -> None:
    page = (await gql.get("/graphql", headers={"accept": "text/html"})).text
    assert "subscriptionUrl" in page
    assert "isHeadersEditorEnabled: true" in page


async def test_graphiql_off_means_no_page() -> None:
    async with _client(build_app(graphiql=False)) as client:
        response = await client.get("/graphql", headers={"accept": "text/html"})
    assert response.status_code == 404
