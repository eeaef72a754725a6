"""Another tenant's ids, ids forged under another valid type name, and malformed ids, in every
id-taking argument and filter of every query and mutation, in `node` for every node type, in
aliases beside the tenant's own ids, and in subscriptions: each behaves exactly like an id that
does not exist, and nothing the tenant lists names the other tenant."""

from __future__ import annotations

import base64
import uuid
from typing import Any

from tenantflow.global_ids import encode_global_id, parse_global_id
from tenantflow.isolation.probe import walk
from tenantflow.isolation.probe.compare import mentions, normalised, random_id_like
from tenantflow.isolation.probe.documents import selection
from tenantflow.schema import schema
from tests.hostile.conftest import Pair

SCHEMA = schema._schema
MALFORMED = [
    "",
    "not base64 at all!",
    base64.b64encode(b"Workflow:not-a-uuid").decode(),
    encode_global_id("NoSuchType", uuid.uuid4()),
    encode_global_id("Workflow", "00000000-0000-0000-0000-000000000000"),
    "V29ya2Zsb3c6" + "A" * 2000,  # "Workflow:" and a very long key
    "' OR 1=1 --",
]


def forged(ids: dict[str, set[str]]) -> list[str]:
    """Each of the other tenant's keys under another node type's name (rotating)."""
    types = walk.node_types(SCHEMA)
    result: list[str] = []
    for kind, values in sorted(ids.items()):
        for value in sorted(values)[:1]:
            parsed = parse_global_id(value)
            assert parsed is not None
            other = types[(types.index(kind) + 1) % len(types)] if kind in types else "Workflow"
            result.append(encode_global_id(other, parsed[1]))
    return result


def test_every_node_type_has_ids_of_both_tenants_to_try(pair: Pair) -> None:
    # a node type added later without a way to make one fails here, not silently
    assert set(walk.node_types(SCHEMA)) <= set(pair.b.ids)
    assert set(walk.node_types(SCHEMA)) <= set(pair.a.ids)


async def test_every_id_slot_treats_foreign_forged_and_malformed_ids_as_missing(
    pair: Pair,
) -> None:
    candidates: dict[str, list[str]] = {
        kind: sorted(values)[:2] for kind, values in sorted(pair.b.ids.items())
    }
    candidates["forged"] = forged(pair.b.ids)
    candidates["malformed"] = MALFORMED
    probe = pair.probe()
    await probe.slots(pair.a, candidates, ("query", "mutation"))
    assert probe.tally.findings == [], [f.lines() for f in probe.tally.findings]
    walked = sum(1 for root, _ in walk.walked(SCHEMA, ("ID",)) if root.kind != "subscription")
    assert probe.tally.slots == walked >= 20
    # the other tenant's rows are all still there (no mutation reached them)
    before = {kind: set(values) for kind, values in pair.b.ids.items()}
    pair.b.ids.clear()
    await probe.harvest(pair.b)
    assert {k: v for k, v in pair.b.ids.items() if k != "AuditLog"} == {
        k: v for k, v in before.items() if k != "AuditLog"
    }


async def test_nothing_a_tenant_lists_names_the_other(pair: Pair) -> None:
    probe = pair.probe()
    await probe.lists(pair.a, pair.b)
    await probe.lists(pair.b, pair.a)
    assert probe.tally.findings == []


async def test_aliases_mixing_both_tenants_answer_the_own_id_only(pair: Pair) -> None:
    # every query field taking one id: `mine` with the tenant's own id, `theirs` with the other's
    checked = 0
    for root, slot in walk.walked(SCHEMA, ("ID",)):
        required = walk.required_arguments(root, pair.a.marker)
        if root.kind != "query" or list(required) != [slot.path[0]] or slot.is_list:
            continue
        kinds = [slot.type_hint] if slot.type_hint else sorted(set(pair.a.ids) & set(pair.b.ids))
        for kind in kinds:
            mine, theirs = sorted(pair.a.ids[kind])[0], sorted(pair.b.ids[kind])[0]
            body = selection(root.field.type, 2)
            arg = slot.path[0]
            query = (
                f"query($mine: ID!, $theirs: ID!, $missing: ID!) {{"
                f" mine: {root.name}({arg}: $mine) {body}"
                f" theirs: {root.name}({arg}: $theirs) {body}"
                f" missing: {root.name}({arg}: $missing) {body} }}"
            )
            missing = random_id_like(theirs)
            variables = {"mine": mine, "theirs": theirs, "missing": missing}
            _, answer = await pair.api.post(query, variables, token=pair.a.token)
            data: dict[str, Any] = answer["data"]
            assert "errors" not in answer, answer
            assert data["mine"] is not None, (root.name, kind)
            assert normalised(data["theirs"], [theirs]) == normalised(data["missing"], [missing])
            assert mentions(answer, [pair.b.marker, theirs]) == []
            checked += 1
    assert checked >= len(walk.node_types(SCHEMA))  # node() for each type, and more


async def test_subscriptions_on_the_other_tenants_execution_and_workflow_see_nothing(
    pair: Pair,
) -> None:
    probe = pair.probe()
    await probe.subscriptions(pair.a, pair.b)
    assert probe.tally.findings == [], [f.lines() for f in probe.tally.findings]
    assert probe.tally.slots >= 2
