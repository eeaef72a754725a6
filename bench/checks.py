"""Before measuring: each system answers the same question the same way on its copy."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import httpx


class CheckError(RuntimeError):
    pass


def first_request(path: Path) -> tuple[str, dict[str, Any]]:
    authorization, body = path.read_text().splitlines()[0].split("\t", 1)
    return authorization, json.loads(body)


def answer(url: str, path: Path) -> dict[str, Any]:
    authorization, body = first_request(path)
    response = httpx.post(url, json=body, headers={"authorization": authorization}, timeout=60)
    payload: dict[str, Any] = response.json()
    if response.status_code != 200 or payload.get("errors"):
        raise CheckError(f"{url}: {response.status_code} {json.dumps(payload)[:600]}")
    return payload


def same_dashboard(tenantflow: dict[str, Any], postgraphile: dict[str, Any]) -> str:
    """The two dashboards of one member: the same total, names and execution counts."""
    ours = tenantflow["data"]["workflows"]
    theirs = postgraphile["data"]["allWorkflows"]
    if ours["totalCount"] != theirs["totalCount"]:
        raise CheckError(f"totalCount {ours['totalCount']} vs {theirs['totalCount']}")
    names = [e["node"]["name"] for e in ours["edges"]]
    if names != [e["node"]["name"] for e in theirs["edges"]]:
        raise CheckError("the two dashboards list other workflows")
    executions = sum(len(e["node"]["executions"]["edges"]) for e in ours["edges"])
    peer = sum(
        len(e["node"]["executionsByTenantIdAndWorkflowId"]["edges"]) for e in theirs["edges"]
    )
    if executions != peer:
        raise CheckError(f"{executions} vs {peer} executions on the dashboard")
    return f"same dashboard: {ours['totalCount']} workflows, {len(names)} listed, {executions} runs"
