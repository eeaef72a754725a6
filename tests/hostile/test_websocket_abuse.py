"""Websocket abuse against the production app: messages before connection_init, a second
connection_init, duplicate operation ids, malformed and oversized messages, a subscription flood,
and a client that never reads while its tenant's events pile up."""

from __future__ import annotations

import asyncio
import time
from typing import Any

import pytest
from httpx_ws import WebSocketDisconnect
from starlette.types import ASGIApp

from tenantflow.isolation.probe.compare import mentions
from tests.api.websocket import GraphQLWebSocket, graphql_ws
from tests.hostile.conftest import Pair

EVENTS = "subscription { executionEvents { status execution { id } } }"
RUN = "mutation($input: RunWorkflowInput!) { runWorkflow(input: $input) { __typename } }"


async def closed_code(socket: GraphQLWebSocket, seconds: float = 5) -> int:
    with pytest.raises(WebSocketDisconnect) as closed:
        while True:
            await socket.receive(seconds)
    return closed.value.code


def subscribe(operation_id: str, query: str = EVENTS) -> dict[str, Any]:
    return {"id": operation_id, "type": "subscribe", "payload": {"query": query}}


async def test_a_subscribe_before_connection_init_closes_with_4401(
    hostile_app: ASGIApp, pair: Pair
) -> None:
    async with graphql_ws(hostile_app) as socket:
        await socket.socket.send_json(subscribe("1"))
        assert await closed_code(socket) == 4401


async def test_a_second_connection_init_closes_with_4429(hostile_app: ASGIApp, pair: Pair) -> None:
    async with graphql_ws(hostile_app) as socket:
        assert (await socket.init(pair.a.token))["type"] == "connection_ack"
        await socket.socket.send_json({"type": "connection_init", "payload": {}})
        assert await closed_code(socket) == 4429


async def test_a_duplicate_operation_id_closes_with_4409(hostile_app: ASGIApp, pair: Pair) -> None:
    async with graphql_ws(hostile_app) as socket:
        assert (await socket.init(pair.a.token))["type"] == "connection_ack"
        await socket.socket.send_json(subscribe("same"))
        await socket.socket.send_json(subscribe("same"))
        assert await closed_code(socket) == 4409


@pytest.mark.parametrize(
    "message",
    [
        "not json",
        '{"type": "no-such-type"}',
        '{"type": "subscribe"}',
        '{"id": 1, "type": "subscribe", "payload": {"query": "{ tenant { id } }"}}',
        "[]",
        '"x"',
        "5",
        '{"id": "1", "type": "subscribe", "payload": "{ tenant { id } }"}',
        '{"id": "1", "type": "subscribe", "payload": {"query": ["{ tenant { id } }"]}}',
        '{"id": "1", "type": "subscribe", "payload": {"query": "{ __typename }", "variables": []}}',
        '{"id": ["1"], "type": "complete"}',
    ],
)
async def test_a_malformed_message_closes_with_4400_not_an_internal_error(
    hostile_app: ASGIApp, pair: Pair, message: str
) -> None:
    async with graphql_ws(hostile_app) as socket:
        assert (await socket.init(pair.a.token))["type"] == "connection_ack"
        await socket.socket.send_text(message)
        assert await closed_code(socket) == 4400


async def test_a_message_over_1_mib_closes_with_1009(hostile_app: ASGIApp, pair: Pair) -> None:
    async with graphql_ws(hostile_app) as socket:
        assert (await socket.init(pair.a.token))["type"] == "connection_ack"
        await socket.socket.send_text(
            '{"id": "1", "type": "subscribe", "payload": {"query": "' + " " * 1_048_576 + '"}}'
        )
        assert await closed_code(socket) == 1009


async def test_a_subscription_flood_is_capped_and_the_socket_keeps_serving(
    hostile_app: ASGIApp, pair: Pair
) -> None:
    async with graphql_ws(hostile_app) as socket:
        assert (await socket.init(pair.a.token))["type"] == "connection_ack"
        for index in range(100):
            await socket.socket.send_json(subscribe(str(index)))
        refused: list[dict[str, Any]] = []
        while len(refused) < 80:
            message = await socket.receive()
            if message["type"] == "error":
                refused.append(message)
        codes = {e["extensions"]["code"] for m in refused for e in m["payload"]}
        assert codes == {"RATE_LIMITED"}
        await socket.socket.send_json({"type": "ping"})
        while (await socket.receive())["type"] != "pong":
            pass


async def test_a_client_that_never_reads_holds_up_nobody(hostile_app: ASGIApp, pair: Pair) -> None:
    async with graphql_ws(hostile_app) as stalled:
        assert (await stalled.init(pair.a.token))["type"] == "connection_ack"
        await stalled.socket.send_json(subscribe("1"))
        # its tenant's events pile up while it reads nothing...
        for _ in range(20):
            _, body = await pair.api.post(
                RUN, {"input": {"workflowId": pair.a.workflow_id}}, token=pair.a.token
            )
            assert body["data"]["runWorkflow"]["__typename"] == "ExecutionPayload", body
        # ...and the other tenant is served as usual meanwhile
        started = time.perf_counter()
        for _ in range(10):
            _, body = await pair.api.post("{ workflows { totalCount } }", token=pair.b.token)
            assert "errors" not in body, body
        assert time.perf_counter() - started < 10
        # when it reads at last, it finds its own tenant's events and nothing of the other's
        await asyncio.sleep(0.5)
        received = []
        while True:
            try:
                received.append(await stalled.receive(1))
            except TimeoutError:
                break
        assert len([m for m in received if m["type"] == "next"]) >= 20
        assert mentions(received, [pair.b.marker, *sorted(set().union(*pair.b.ids.values()))]) == []
