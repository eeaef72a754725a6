"""Third-party reference clients against a live server: the graphql-http audits and GraphiQL
offline in headless Chromium (../shared/conformance/run.sh)."""

from __future__ import annotations

import json
import os
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.live_server import embedded_server

REPO = Path(__file__).resolve().parents[2]
SHARED = Path(os.environ.get("TENANTFLOW_SHARED_DIR", REPO.parent / "shared"))
RUN_SH = SHARED / "conformance" / "run.sh"

pytestmark = pytest.mark.conformance


@pytest.fixture(scope="module")
def live_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """`tenantflow serve` on the embedded default, on a free loopback port."""
    with embedded_server(tmp_path_factory.mktemp("live")) as url:
        yield url


def run_check(
    check: str, url: str, token: str | None = None, env: dict[str, str] | None = None
) -> str:
    assert RUN_SH.exists(), f"reference clients not found at {RUN_SH} (set TENANTFLOW_SHARED_DIR)"
    result = subprocess.run(
        ["bash", str(RUN_SH), check, url, *([token] if token else [])],
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
        env={**os.environ, **(env or {})},
    )
    output = result.stdout + result.stderr
    assert result.returncode == 0, output
    return output


def test_graphql_over_http_audits_pass_with_no_should_warnings(live_server: str) -> None:
    output = run_check("http-audit", live_server)
    assert ", 0 failed" in output
    # SHOULD audits are printed as warnings; every one of them passes too
    assert "warn" not in output.lower(), output


def test_graphiql_runs_a_query_with_the_network_blocked(live_server: str) -> None:
    output = run_check("graphiql-offline", live_server)
    assert "3 passed, 0 failed" in output


SIGN_UP = """
mutation($input: SignUpInput!) {
  signUp(input: $input) { ... on AuthPayload { accessToken } }
}
"""
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


def _graphql(
    url: str, query: str, variables: dict[str, object], token: str | None = None
) -> dict[str, Any]:
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    response = httpx.post(url, json={"query": query, "variables": variables}, headers=headers)
    body = response.json()
    assert "errors" not in body, body
    data: dict[str, Any] = body["data"]
    return data


def test_reference_graphql_ws_client_follows_a_run_and_the_protocol_holds(live_server: str) -> None:
    # given an account and a workflow that waits 6 s, made through the API
    signed_up = _graphql(
        live_server,
        SIGN_UP,
        {
            "input": {
                "email": "ws-conformance@example.test",
                "password": "a long enough password",
                "tenantName": "WS conformance",
                "tenantSlug": "ws-conformance",
            }
        },
    )
    token = signed_up["signUp"]["accessToken"]
    definition = {
        "nodes": [
            {"id": "a", "type": "noop", "config": {}},
            {"id": "wait", "type": "delay", "config": {"ms": 6000}},
        ],
        "edges": [{"from": "a", "to": "wait"}],
    }
    created = _graphql(
        live_server, CREATE_WORKFLOW, {"input": {"name": "ws", "definition": definition}}, token
    )
    workflow_id = created["createWorkflow"]["workflow"]["id"]
    # the harness installs its packages on first use: not while the run's clock is ticking
    run_check("ws-client", live_server, token)
    # when it runs (the server's executor picks it up) and the reference client subscribes
    execution_id = _graphql(live_server, RUN, {"id": workflow_id}, token)["runWorkflow"][
        "execution"
    ]["id"]
    output = run_check(
        "ws-client",
        live_server,
        token,
        env={
            "SUB_QUERY": (
                "subscription($id: ID!) { executionUpdated(executionId: $id)"
                " { status step { nodeId status } } }"
            ),
            "SUB_VARS": json.dumps({"id": execution_id}),
            "SUB_TIMEOUT_S": "30",
        },
    )
    # then it follows the run while it waits, to SUCCEEDED, the subscription completes, and the
    # protocol checks pass ((d), the 10 s init timeout, is skipped by the harness as too slow)
    updates = [
        json.loads(line)["data"]["executionUpdated"]
        for line in output.splitlines()
        if line.startswith('{"data"')
    ]
    statuses = [update["status"] for update in updates]
    assert "RUNNING" in statuses, output
    assert statuses[-1] == "SUCCEEDED", output
    assert {"nodeId": "wait", "status": "SUCCEEDED"} in [u["step"] for u in updates], output
    assert ", 0 failed" in output, output
