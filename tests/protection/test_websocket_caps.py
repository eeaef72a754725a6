"""Websocket caps: subscriptions per connection and per tenant, connections per tenant and per
address, 1 MiB messages; and nothing is kept for sockets once they close."""

from __future__ import annotations

import pytest
from httpx_ws import WebSocketDisconnect

from tenantflow.enums import Plan
from tenantflow.settings import Settings
from tests.api.conftest import Members
from tests.polling import eventually
from tests.protection.conftest import Served, running, socket_from

LIVE = "subscription { executionEvents { status } }"
CAPS = {
    "ws_max_subscriptions_per_connection": 2,
    "ws_max_subscriptions_per_tenant": 3,
    "ws_max_connections_per_tenant": 2,
    "ws_max_connections_per_address": 3,
}


def refusal_of(message: dict[str, object]) -> object:
    assert message["type"] == "error", message
    payload = message["payload"]
    assert isinstance(payload, list)
    extensions = payload[0]["extensions"]
    assert extensions["code"] == "RATE_LIMITED"
    return extensions["limit"]


async def test_subscriptions_are_capped_per_connection_and_per_tenant(
    settings: Settings, members: Members
) -> None:
    owner = await members.tenant(plan=Plan.PRO)
    colleague = await members.member(owner.tenant_id)
    neighbour = await members.tenant(plan=Plan.PRO)
    async with running(settings, **CAPS) as served:
        async with (
            socket_from(served.app, "203.0.113.61") as first,
            socket_from(served.app, "203.0.113.62") as second,
            socket_from(served.app, "203.0.113.63") as other_tenant,
        ):
            for socket, member in ((first, owner), (second, colleague), (other_tenant, neighbour)):
                assert (await socket.init(member.token))["type"] == "connection_ack"
            # two on the first connection; a third there is over the connection's cap
            await first.subscribe(LIVE)
            done = await first.subscribe(LIVE)
            await first.subscribe(LIVE)
            assert refusal_of(await first.receive()) == "subscriptionsPerConnection"
            # one more of the tenant fits on the second; the next is over the tenant's cap
            await second.subscribe(LIVE)
            await second.subscribe(LIVE)
            assert refusal_of(await second.receive()) == "subscriptionsPerTenant"
            # another tenant is not touched by this one's spending
            await other_tenant.subscribe(LIVE)
            await other_tenant.subscribe(LIVE)
            with pytest.raises(TimeoutError):
                await other_tenant.receive(0.5)
            # a finished subscription gives its place back
            await first.socket.send_json({"id": done, "type": "complete"})
            held = served.runtime.sockets.subscriptions_of(owner.tenant_id)

            async def given_back() -> bool:
                return served.runtime.sockets.subscriptions_of(owner.tenant_id) == held - 1

            await eventually(given_back)
            await first.subscribe(LIVE)
            with pytest.raises(TimeoutError):
                await first.receive(0.5)
        assert_nothing_held(served)


async def test_connections_are_capped_per_tenant(settings: Settings, members: Members) -> None:
    owner = await members.tenant(plan=Plan.PRO)
    neighbour = await members.tenant(plan=Plan.PRO)
    async with running(settings, **CAPS) as served:
        async with (
            socket_from(served.app, "203.0.113.71") as first,
            socket_from(served.app, "203.0.113.72") as second,
            socket_from(served.app, "203.0.113.73") as third,
            socket_from(served.app, "203.0.113.74") as other_tenant,
        ):
            assert (await first.init(owner.token))["type"] == "connection_ack"
            assert (await second.init(owner.token))["type"] == "connection_ack"
            with pytest.raises(WebSocketDisconnect) as closed:
                await third.init(owner.token)
            assert closed.value.code == 4429
            assert (await other_tenant.init(neighbour.token))["type"] == "connection_ack"
        assert_nothing_held(served)


async def test_connections_are_capped_per_address(settings: Settings) -> None:
    async with running(settings, **CAPS) as served:
        async with (
            socket_from(served.app, "203.0.113.80"),
            socket_from(served.app, "203.0.113.80"),
            socket_from(served.app, "203.0.113.80"),
        ):
            async with socket_from(served.app, "203.0.113.80") as fourth:
                with pytest.raises(WebSocketDisconnect) as closed:
                    await fourth.receive()
                assert closed.value.code == 4429
            async with socket_from(served.app, "203.0.113.81") as elsewhere:
                await elsewhere.socket.send_json({"type": "ping"})
                assert (await elsewhere.receive())["type"] == "pong"
        assert_nothing_held(served)


@pytest.mark.parametrize(("size", "closed_with"), [(1024 * 1024, None), (1024 * 1024 + 1, 1009)])
async def test_a_message_above_1_mib_closes_the_socket_with_1009(
    settings: Settings, members: Members, size: int, closed_with: int | None
) -> None:
    member = await members.tenant()
    async with running(settings) as served, socket_from(served.app) as socket:
        assert (await socket.init(member.token))["type"] == "connection_ack"
        query = "{ viewer { role } }"
        padding = " " * (
            size - len(query) - len('{"id":"1","type":"subscribe","payload":{"query":""}}')
        )
        message = '{"id":"1","type":"subscribe","payload":{"query":"' + query + padding + '"}}'
        assert len(message.encode()) == size
        await socket.socket.send_text(message)
        if closed_with is None:
            assert (await socket.receive())["type"] in {"next", "error"}
            return
        with pytest.raises(WebSocketDisconnect) as closed:
            await socket.receive()
        assert closed.value.code == closed_with


def assert_nothing_held(served: Served) -> None:
    """Every socket closed: the registry keeps no count for any of them."""
    assert served.runtime.sockets.held == 0
