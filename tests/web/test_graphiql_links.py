"""`GET /graphql?query=…` from a browser opens GraphiQL with that operation; from any other
client it runs the query, as GraphQL over HTTP says."""

from __future__ import annotations

from collections.abc import AsyncIterator

import httpx
import pytest

from tenantflow.web.graphql_view import GRAPHQL_RESPONSE_JSON, JSON, prefers_html
from tests.web.test_graphql_http import HELLO, build_app, media_type

BROWSER = "text/html,application/xhtml+xml,application/xml;q=0.9,image/avif,*/*;q=0.8"


@pytest.fixture
async def http() -> AsyncIterator[httpx.AsyncClient]:
    transport = httpx.ASGITransport(build_app())
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as client:
        yield client


@pytest.mark.parametrize(
    ("accept", "expected"),
    [
        (BROWSER, True),
        ("text/html", True),
        ("text/html, */*", True),
        ("text/html;q=0.5, application/json", False),
        ("*/*", False),
        (None, False),
        ("", False),
        (JSON, False),
        (GRAPHQL_RESPONSE_JSON, False),
        (f"text/html, {JSON}", False),  # a tie goes to the API
        ("text/html;q=0", False),
    ],
)
def test_prefers_html(accept: str | None, expected: bool) -> None:
    assert prefers_html(accept) is expected


async def test_a_browser_gets_the_ide_for_a_link_with_a_query(http: httpx.AsyncClient) -> None:
    link = {"query": HELLO, "variables": '{"a": 1}', "operationName": "Hello"}
    page = await http.get("/graphql", params=link, headers={"accept": BROWSER})
    assert page.status_code == 200
    assert media_type(page) == "text/html"
    # the page reads the link's parameters into its editors
    for parameter in ("parameters.query", "parameters.variables", "parameters.operationName"):
        assert parameter in page.text


@pytest.mark.parametrize("accept", ["*/*", JSON, GRAPHQL_RESPONSE_JSON, None])
async def test_other_clients_get_the_query_run(http: httpx.AsyncClient, accept: str | None) -> None:
    headers = {"accept": accept} if accept else {}
    response = await http.get("/graphql", params={"query": HELLO}, headers=headers)
    assert response.status_code == 200
    assert media_type(response) in (JSON, GRAPHQL_RESPONSE_JSON)
    assert response.json()["data"]


async def test_with_graphiql_off_a_browser_link_runs_the_query() -> None:
    transport = httpx.ASGITransport(build_app(graphiql=False))
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as client:
        response = await client.get(
            "/graphql", params={"query": HELLO}, headers={"accept": BROWSER}
        )
    assert (response.status_code, media_type(response)) == (200, JSON)
    assert response.json()["data"]
