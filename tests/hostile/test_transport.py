"""Transport abuse against the production app, as tenant a with valid credentials: other content
types, every mutation over GET, bodies over 1 MiB (declared and streamed), malformed JSON,
batches, other methods. Each is refused with its 4xx and changes nothing (tests/web/ holds the
GraphQL-over-HTTP conformance of the view itself)."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator

import httpx
import pytest

from tenantflow.isolation.probe import walk
from tenantflow.isolation.probe.documents import document
from tenantflow.schema import schema
from tests.hostile.conftest import Pair

SCHEMA = schema._schema
COUNT = "{ workflows { totalCount } }"
MIB = 1_048_576


@pytest.fixture
def http(pair: Pair) -> httpx.AsyncClient:
    return pair.api._http


def auth(pair: Pair, **headers: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {pair.a.token}", **headers}


async def workflow_count(pair: Pair) -> int:
    _, body = await pair.api.post(COUNT, token=pair.a.token)
    return int(body["data"]["workflows"]["totalCount"])


@pytest.mark.parametrize(
    "content_type",
    [
        None,
        "text/plain",
        "application/x-www-form-urlencoded",
        "multipart/form-data; boundary=x",
        "application/xml",
        "application/json; charset=latin-1",
        "application/graphql",
    ],
)
async def test_other_content_types_get_415(
    pair: Pair, http: httpx.AsyncClient, content_type: str | None
) -> None:
    headers = auth(pair, **({"content-type": content_type} if content_type else {}))
    content = json.dumps({"query": COUNT}).encode()
    response = await http.post("/graphql", content=content, headers=headers)
    assert response.status_code == 415, response.text


async def test_every_mutation_over_get_is_405_and_changes_nothing(
    pair: Pair, http: httpx.AsyncClient
) -> None:
    before = await workflow_count(pair)
    mutations = [root for root in walk.root_fields(SCHEMA) if root.kind == "mutation"]
    for root in mutations:
        variables = walk.required_arguments(root, pair.a.marker)
        params = {"query": document(root, SCHEMA), "variables": json.dumps(variables)}
        response = await http.get(
            "/graphql", params=params, headers=auth(pair, accept="application/json")
        )
        assert response.status_code == 405, (root.name, response.text)
    assert len(mutations) >= 25
    assert await workflow_count(pair) == before


@pytest.mark.parametrize("method", ["PUT", "PATCH", "DELETE"])
async def test_other_methods_get_405(pair: Pair, http: httpx.AsyncClient, method: str) -> None:
    response = await http.request(method, "/graphql", json={"query": COUNT}, headers=auth(pair))
    assert response.status_code == 405


async def test_a_declared_body_over_1_mib_gets_413(pair: Pair, http: httpx.AsyncClient) -> None:
    body = {"query": COUNT, "variables": {"padding": "x" * MIB}}
    response = await http.post("/graphql", json=body, headers=auth(pair))
    assert response.status_code == 413


async def test_a_streamed_body_over_1_mib_gets_413(pair: Pair, http: httpx.AsyncClient) -> None:
    async def chunks() -> AsyncIterator[bytes]:
        yield b'{"query": "{ workflows { totalCount } }", "variables": {"padding": "'
        for _ in range(20):
            yield b"x" * 65_536
        yield b'"}}'

    headers = auth(pair, **{"content-type": "application/json"})
    response = await http.post("/graphql", content=chunks(), headers=headers)
    assert response.status_code == 413


async def test_a_mutation_just_over_1_mib_writes_nothing(
    pair: Pair, http: httpx.AsyncClient
) -> None:
    before = await workflow_count(pair)
    query = (
        "mutation($input: CreateWorkflowInput!) { createWorkflow(input: $input) { __typename } }"
    )
    body = {"query": query, "variables": {"input": {"name": "big", "description": "d" * MIB}}}
    response = await http.post("/graphql", json=body, headers=auth(pair))
    assert response.status_code == 413
    assert await workflow_count(pair) == before


@pytest.mark.parametrize(
    "content",
    [
        b'{"query": ',
        b"",
        b"\xff\xfe",
        b'{"query": "{ tenant { id } }"',
        b"null",
        b'"{ tenant { id } }"',
        b'{"query": "{ tenant { id } }", "variables": [1]}',
        b"[" * 10_000,
        b'{"query": "{ tenant { id } }"}\x00',
    ],
)
async def test_malformed_json_gets_400(pair: Pair, http: httpx.AsyncClient, content: bytes) -> None:
    headers = auth(pair, **{"content-type": "application/json"})
    response = await http.post("/graphql", content=content, headers=headers)
    assert response.status_code == 400, (content[:40], response.status_code, response.text)
    assert response.json()["errors"][0]["message"]


async def test_a_batch_is_400(pair: Pair, http: httpx.AsyncClient) -> None:
    response = await http.post("/graphql", json=[{"query": COUNT}] * 2, headers=auth(pair))
    assert response.status_code == 400
