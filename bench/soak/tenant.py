"""One soak tenant: its loop of reads, writes and runs, and its subscription; every answer and
event goes through the ledger's checks."""

from __future__ import annotations

import asyncio
import random
import time
from dataclasses import dataclass, field
from typing import Any

from bench.soak.ledger import Ledger
from tenantflow.isolation.probe.client import Api

LIST = "{ workflows(first: 20) { totalCount edges { node { id name } } } }"
ONE = "query($id: ID!) { workflow(id: $id) { id name } }"
VIEWER = "{ viewer { tenant { id slug name } } }"
RESULT = "__typename ... on Error { message }"
CREATE = f"""
mutation($input: CreateWorkflowInput!) {{ createWorkflow(input: $input) {{
  {RESULT} ... on WorkflowPayload {{ workflow {{ id name }} }} }} }}
"""
UPDATE = f"""
mutation($input: UpdateWorkflowInput!) {{ updateWorkflow(input: $input) {{
  {RESULT} ... on WorkflowPayload {{ workflow {{ id name }} }} }} }}
"""
RUN = f"""
mutation($input: RunWorkflowInput!) {{ runWorkflow(input: $input) {{
  {RESULT} ... on ExecutionPayload {{ execution {{ id workflow {{ id name }} }} }} }} }}
"""
EVENTS = "subscription { executionEvents { status execution { id workflow { id name } } } }"
DEFINITION = {"nodes": [{"id": "a", "type": "noop", "config": {}}], "edges": []}
MAX_WORKFLOWS = 20


@dataclass
class SoakTenant:
    index: int
    marker: str
    token: str
    workflows: list[str] = field(default_factory=list)
    events: list[str] = field(default_factory=list)  # execution ids its subscription delivered


class Worker:
    def __init__(self, api: Api, ledger: Ledger, tenant: SoakTenant, rng: random.Random) -> None:
        self.api, self.ledger, self.tenant, self.rng = api, ledger, tenant, rng
        self.writes = 0

    async def call(self, kind: str, query: str, variables: dict[str, Any]) -> dict[str, Any] | None:
        """The data of a checked answer; None (and an error counted) for any failure."""
        started = time.perf_counter()
        status, body = await self.api.post(query, variables, token=self.tenant.token)
        self.ledger.latencies[kind].append((time.perf_counter() - started) * 1000)
        self.ledger.requests += 1
        self.ledger.check(self.tenant.index, self.tenant.marker, body, kind)
        if status != 200 or "errors" in body:
            codes = {e.get("extensions", {}).get("code") for e in body.get("errors", [])}
            self.ledger.error(f"{kind} {status} {','.join(sorted(map(str, codes)))}")
            return None
        data: dict[str, Any] = body["data"]
        return data

    def payload(self, kind: str, data: dict[str, Any] | None, expected: str) -> Any:
        if data is None:
            return None
        answer = next(iter(data.values()))
        if answer.get("__typename") != expected:
            self.ledger.error(f"{kind} {answer.get('__typename')}")
            return None
        return answer

    async def read(self) -> None:
        choice = self.rng.random()
        if choice < 0.4 or not self.tenant.workflows:
            await self.call("read", LIST, {})
        elif choice < 0.8:
            await self.call("read", ONE, {"id": self.rng.choice(self.tenant.workflows)})
        else:
            data = await self.call("read", VIEWER, {})
            if data is not None and self.tenant.marker not in data["viewer"]["tenant"]["slug"]:
                self.ledger.violations.append(f"tenant {self.tenant.index} is another tenant")

    async def write(self) -> None:
        self.writes += 1
        name = f"{self.tenant.marker} w{self.writes}"
        acknowledged = self.ledger.acknowledged[self.tenant.index].workflows
        if len(self.tenant.workflows) < MAX_WORKFLOWS and self.rng.random() < 0.5:
            variables: dict[str, Any] = {"input": {"name": name, "definition": DEFINITION}}
            data = await self.call("write", CREATE, variables)
            answer = self.payload("write", data, "WorkflowPayload")
            if answer:
                workflow_id = answer["workflow"]["id"]
                self.ledger.own(self.tenant.index, workflow_id)
                self.tenant.workflows.append(workflow_id)
                acknowledged[workflow_id] = name
        elif self.tenant.workflows:
            workflow_id = self.rng.choice(self.tenant.workflows)
            data = await self.call("write", UPDATE, {"input": {"id": workflow_id, "name": name}})
            if self.payload("write", data, "WorkflowPayload"):
                acknowledged[workflow_id] = name

    async def run(self) -> None:
        if not self.tenant.workflows:
            return
        workflow_id = self.rng.choice(self.tenant.workflows)
        data = await self.call("run", RUN, {"input": {"workflowId": workflow_id}})
        answer = self.payload("run", data, "ExecutionPayload")
        if answer:
            execution_id = answer["execution"]["id"]
            self.ledger.own(self.tenant.index, execution_id)
            self.ledger.acknowledged[self.tenant.index].executions.add(execution_id)

    async def loop(self, deadline: float, think_ms: float) -> None:
        while time.monotonic() < deadline:
            kind = self.rng.choices(("read", "write", "run"), weights=(5, 3, 2))[0]
            await {"read": self.read, "write": self.write, "run": self.run}[kind]()
            await asyncio.sleep(self.rng.uniform(0, 2 * think_ms) / 1000)

    async def listen(self, ready: asyncio.Event, stop: asyncio.Event) -> None:
        """The tenant's executionEvents until `stop`; each event checked. A stream that ends
        (a database outage, say) is counted as an error and subscribed again."""
        subscriptions = 0

        async def subscribe(socket: Any) -> str:
            nonlocal subscriptions
            subscriptions += 1
            operation = str(subscriptions)
            message = {"id": operation, "type": "subscribe", "payload": {"query": EVENTS}}
            await socket.send_json(message)
            return operation

        async with self.api.socket(self.tenant.token) as socket:
            await subscribe(socket)
            ready.set()
            while not stop.is_set():
                try:
                    message: dict[str, Any] = await socket.receive_json(timeout=0.5)
                except TimeoutError:
                    continue
                kind, payload = message.get("type"), message.get("payload") or {}
                if kind in ("error", "complete"):
                    self.ledger.error(f"subscription {kind}")
                    await subscribe(socket)
                    continue
                self.ledger.check(self.tenant.index, self.tenant.marker, payload, "event")
                if "errors" in payload:
                    codes = {e.get("extensions", {}).get("code") for e in payload["errors"]}
                    self.ledger.error(f"subscription {','.join(sorted(map(str, codes)))}")
                    continue
                self.ledger.events += 1
                self.tenant.events.append(payload["data"]["executionEvents"]["execution"]["id"])
