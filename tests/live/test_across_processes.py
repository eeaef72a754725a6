"""Two real server processes on one PostgreSQL: subscribe on one, run on the other.

The safety poll and the executor's idle timeout are an hour here, so every event that arrives and
every run that starts came through the wake-up transport (LISTEN/NOTIFY, or Redis pub/sub).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlmodel import col, select
from websockets.asyncio.client import ClientConnection, connect
from websockets.typing import Subprotocol

from tenantflow.db.models import Execution, ExecutionEvent
from tenantflow.db.session import SessionFactory
from tenantflow.enums import ExecutionStatus, Role
from tenantflow.events.record import decode_event_cursor
from tenantflow.settings import Settings
from tests.api.conftest import Member, Members
from tests.live.conftest import environment
from tests.live_server import free_port, running

pytestmark = pytest.mark.postgresql

HOUR = "3600"
RUNS_PER_TENANT = 4
EVENTS_PER_RUN = 5  # QUEUED, RUNNING, the step RUNNING and SUCCEEDED, SUCCEEDED
CREATE_WORKFLOW = """
mutation($input: CreateWorkflowInput!) {
  createWorkflow(input: $input) { ... on WorkflowPayload { workflow { id } } }
}
"""
RUN = """
mutation($id: ID!) {
  runWorkflow(input: {workflowId: $id}) { ... on ExecutionPayload { execution { id } } }
}
"""
EVENTS = "subscription { executionEvents { status cursor execution { id } } }"


@dataclass
class Subscriber:
    member: Member
    socket: ClientConnection
    events: list[dict[str, Any]] = field(default_factory=list)

    async def read(self) -> None:
        async for raw in self.socket:
            message = json.loads(raw)
            if message["type"] == "ping":
                await self.socket.send(json.dumps({"type": "pong"}))
            elif message["type"] == "next":
                self.events.append(message["payload"]["data"]["executionEvents"])
            else:
                raise AssertionError(message)


async def subscribe(graphql_url: str, member: Member) -> Subscriber:
    socket = await connect(
        graphql_url.replace("http://", "ws://"),
        subprotocols=[Subprotocol("graphql-transport-ws")],
    )
    init = {"type": "connection_init", "payload": {"authorization": f"Bearer {member.token}"}}
    await socket.send(json.dumps(init))
    assert json.loads(await socket.recv())["type"] == "connection_ack"
    subscribe = {"id": "1", "type": "subscribe", "payload": {"query": EVENTS}}
    await socket.send(json.dumps(subscribe))
    return Subscriber(member, socket)


async def ok(
    http: httpx.AsyncClient, url: str, member: Member, query: str, **variables: Any
) -> Any:
    response = await http.post(
        url, json={"query": query, "variables": variables}, headers=member.headers
    )
    body = response.json()
    assert "errors" not in body, body
    return body["data"]


async def stream_of(sessions: SessionFactory, tenant_id: uuid.UUID) -> list[int]:
    async with sessions.tenant_reader(tenant_id) as session:
        rows = await session.exec(select(ExecutionEvent.seq).order_by(col(ExecutionEvent.seq)))
        return list(rows.all())


async def all_finished(sessions: SessionFactory, tenant_id: uuid.UUID) -> bool:
    async with sessions.tenant_reader(tenant_id) as session:
        statuses = (await session.exec(select(Execution.status))).all()
    return all(ExecutionStatus(status).is_terminal for status in statuses)


@contextlib.contextmanager
def two_processes(settings: Settings, folder: Path) -> Iterator[tuple[str, str]]:
    """The GraphQL URLs of two server processes: only the first runs executions."""
    with contextlib.ExitStack() as stack:
        urls = []
        for name, workers in (("first", "1"), ("second", "0")):
            port = free_port()
            base = f"http://127.0.0.1:{port}"
            (folder / name).mkdir()
            env = environment(
                settings,
                TENANTFLOW_DATA_DIR=str(folder / name),
                TENANTFLOW_EXECUTOR_WORKERS=workers,
                TENANTFLOW_EXECUTOR_IDLE_SECONDS=HOUR,
                TENANTFLOW_LIVE_SAFETY_POLL_SECONDS=HOUR,
            )
            command = ["-m", "tenantflow.cli", "serve", "--port", str(port)]
            stack.enter_context(running(command, base, folder=folder / name, env=env))
            urls.append(f"{base}/graphql")
        yield urls[0], urls[1]


async def test_every_event_crosses_processes_in_order_once_and_only_to_its_tenant(
    deployed: Settings, members: Members, sessions: SessionFactory, tmp_path: Path
) -> None:
    # given two tenants, and subscribers of each on both processes
    a = await members.tenant(role=Role.EDITOR)
    b = await members.tenant(role=Role.EDITOR)
    with two_processes(deployed, tmp_path) as (first, second):
        async with httpx.AsyncClient(timeout=30) as http:
            flows = {
                m.tenant_id: (
                    await ok(
                        http,
                        second,
                        m,
                        CREATE_WORKFLOW,
                        input={
                            "name": "Flow",
                            "status": "ACTIVE",
                            "definition": {
                                "nodes": [{"id": "a", "type": "noop", "config": {}}],
                                "edges": [],
                            },
                        },
                    )
                )["createWorkflow"]["workflow"]["id"]
                for m in (a, b)
            }
            subscribers = [
                await subscribe(url, member) for url in (first, second) for member in (a, b)
            ]
            readers = [asyncio.create_task(s.read()) for s in subscribers]
            try:
                await asyncio.sleep(1.0)  # the subscriptions joined their feeds
                # when runs are queued on the second process (the first one executes them)
                runs: dict[uuid.UUID, set[str]] = {a.tenant_id: set(), b.tenant_id: set()}
                for _ in range(RUNS_PER_TENANT):
                    for member in (a, b):
                        data = await ok(http, second, member, RUN, id=flows[member.tenant_id])
                        runs[member.tenant_id].add(data["runWorkflow"]["execution"]["id"])
                expected = RUNS_PER_TENANT * EVENTS_PER_RUN
                deadline = asyncio.get_running_loop().time() + 20
                while any(len(s.events) < expected for s in subscribers):
                    assert asyncio.get_running_loop().time() < deadline, [
                        len(s.events) for s in subscribers
                    ]
                    await asyncio.sleep(0.1)
                await asyncio.sleep(0.5)  # anything more that would arrive
            finally:
                for reader in readers:
                    reader.cancel()
                for subscriber in subscribers:
                    await subscriber.socket.close()
    # then every run ran (the idle executor was woken from the other process) and every
    # subscriber got exactly its tenant's stream: in order, none twice, none lost, none foreign
    for member in (a, b):
        assert await all_finished(sessions, member.tenant_id)
    for subscriber in subscribers:
        tenant_id = subscriber.member.tenant_id
        positions = [decode_event_cursor(e["cursor"]) for e in subscriber.events]
        assert positions == await stream_of(sessions, tenant_id)
        assert {e["execution"]["id"] for e in subscriber.events} == runs[tenant_id]
        statuses = [e["status"] for e in subscriber.events]
        assert statuses.count("SUCCEEDED") == RUNS_PER_TENANT
