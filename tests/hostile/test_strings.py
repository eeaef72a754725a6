"""Hostile text in every String argument and input field (filters included) of every query and
mutation, walked from the served schema: SQL metacharacters, Unicode tricks, NUL bytes and
oversized strings. Never a server error, never SQL or internals in a message, never the other
tenant's data; a NUL is BAD_USER_INPUT; and the other tenant's rows are all still there."""

from __future__ import annotations

from typing import Any

import pytest

from tenantflow.isolation.probe import walk
from tenantflow.isolation.probe.compare import mentions
from tenantflow.isolation.probe.documents import document
from tenantflow.schema import schema
from tests.hostile.conftest import Pair

SCHEMA = schema._schema
PAYLOADS = {
    "sql quote": "' OR '1'='1' --",
    "sql statement": "x'); DROP TABLE workflows; --",
    "sql wildcards": "%_\\%' ESCAPE '",
    "sql comment and cast": "1/**/UNION/**/SELECT/**/secret::text--",
    "right-to-left override": "invoice\u202egnp.exe",
    "zero-width and bom": "ad\u200bmin\ufeff",
    "homoglyph": "\u0430dmin",  # Cyrillic a
    "combining marks": "e\u0301" + "\u0336" * 50,
    "astral plane": "\U0001f600\U0001d54f",
    "oversized": "x" * 300_000,
}
NUL = "a\x00b"
# Words that only an unmasked database or Python error would put in a message.
INTERNALS = ("syntax error", "asyncpg", "sqlalchemy", "traceback", "select ", "psycopg")
SLOTS = [
    (root, slot)
    for root, slot in walk.walked(SCHEMA, ("String",))
    if root.kind != "subscription"  # executionEvents(after:) is tried over the websocket below
]


def codes(body: dict[str, Any]) -> list[str]:
    return [e.get("extensions", {}).get("code") for e in body.get("errors", [])]


def test_the_walk_finds_the_string_slots_of_filters_and_inputs() -> None:
    labels = {f"{root.name}.{slot.label()}" for root, slot in SLOTS}
    assert {
        "workflows.filter.search",
        "auditLogs.filter.action",
        "createWorkflow.input.name",
    } <= labels
    assert len(SLOTS) >= 40


@pytest.mark.parametrize("payload", list(PAYLOADS.values()), ids=list(PAYLOADS))
async def test_hostile_text_in_every_string_slot_is_handled(pair: Pair, payload: str) -> None:
    seen: list[str] = []
    for root, slot in SLOTS:
        base = walk.required_arguments(root, pair.a.marker)
        status, body = await pair.api.post(
            document(root, SCHEMA), walk.with_value(base, slot, payload), token=pair.a.token
        )
        where = f"{root.title} {slot.label()}"
        assert status < 500, (where, status, body)
        assert "INTERNAL_SERVER_ERROR" not in codes(body), (where, body)
        messages = " ".join(str(e.get("message", "")) for e in body.get("errors", [])).lower()
        assert not [word for word in INTERNALS if word in messages], (where, body)
        assert mentions(body, [pair.b.marker, *sorted(set().union(*pair.b.ids.values()))]) == []
        seen.append(where)
    assert len(seen) == len(SLOTS)


async def test_a_nul_in_every_string_slot_is_bad_user_input(pair: Pair) -> None:
    for root, slot in SLOTS:
        base = walk.required_arguments(root, pair.a.marker)
        status, body = await pair.api.post(
            document(root, SCHEMA), walk.with_value(base, slot, NUL), token=pair.a.token
        )
        assert codes(body) == ["BAD_USER_INPUT"], (root.title, slot.label(), status, body)


async def test_hostile_cursors_over_the_websocket_are_refused_cleanly(pair: Pair) -> None:
    query = "subscription($after: String) { executionEvents(after: $after) { cursor } }"
    for payload in [*PAYLOADS.values(), NUL]:
        if len(payload) > 100_000:
            continue  # the websocket's own size cap is tried in test_websocket_abuse.py

        async def nothing() -> None:
            return None

        messages = await pair.api.stream(
            query, {"after": payload}, token=pair.a.token, meanwhile=nothing, window=0.5
        )
        # refused as an `error` message, or as a `next` with errors and no data
        first = messages[0]
        errors = first["payload"] if first["type"] == "error" else first["payload"]["errors"]
        assert first["type"] == "error" or first["payload"]["data"] is None, messages
        found = [e.get("extensions", {}).get("code") for e in errors]
        assert found, messages
        assert "INTERNAL_SERVER_ERROR" not in found, messages


async def test_the_other_tenants_rows_survive_the_attacks(pair: Pair) -> None:
    before = {kind: set(values) for kind, values in pair.b.ids.items() if kind != "AuditLog"}
    probe = pair.probe()
    found: dict[str, set[str]] = {}
    pair_b_ids, pair.b.ids = pair.b.ids, found
    try:
        await probe.harvest(pair.b)
    finally:
        pair.b.ids = pair_b_ids
    assert {kind: values for kind, values in found.items() if kind != "AuditLog"} == before
