"""Workflow definition validation, the JSON input guards, graph helpers and built-in node types."""

from __future__ import annotations

import itertools
import json
import uuid
from typing import Any

import pytest

from tenantflow.definitions.definition import (
    FieldProblem,
    check_json_size,
    predecessors,
    sinks,
    topological_order,
    validate_definition,
)
from tenantflow.definitions.node_types import NODE_TYPES, NodeFailure
from tenantflow.outbound.policy import OutboundPolicy

D = "input.definition"
N = f"{D}.nodes"
E = f"{D}.edges"


def node(node_id: object, node_type: object = "noop", config: Any = None) -> dict[str, Any]:
    result: dict[str, Any] = {"id": node_id, "type": node_type}
    if config is not None:
        result["config"] = config
    return result


def edge(source: str, target: str) -> dict[str, str]:
    return {"from": source, "to": target}


def graph(ids: str, pairs: list[str]) -> dict[str, Any]:
    """One-letter node ids and edges, e.g. graph("abc", ["ab", "bc"])."""
    return {"nodes": [node(i) for i in ids], "edges": [edge(p[0], p[1]) for p in pairs]}


def compact_size(value: object) -> int:
    return len(json.dumps(value, separators=(",", ":"), ensure_ascii=False).encode())


def nested_list(depth: int) -> object:
    """`depth` lists inside each other (depth 0 is a scalar), built without recursion."""
    value: object = 0
    for _ in range(depth):
        value = [value]
    return value


def nested_object(depth: int, key: str = "a") -> object:
    value: object = 0
    for _ in range(depth):
        value = {key: value}
    return value


def found(problems: list[FieldProblem], expected: list[tuple[str, str]]) -> list[tuple[str, str]]:
    """`problems` as (field, message), with a message shortened to the expected fragment it
    contains: compared with `expected`, a mismatch shows the full message in the diff."""
    fragments = [fragment for _, fragment in expected] + [""] * len(problems)
    return [
        (p.field, fragment if fragment and fragment in p.message else p.message)
        for p, fragment in zip(problems, fragments, strict=False)
    ]


VALID: list[tuple[str, dict[str, Any]]] = [
    ("an empty draft", {"nodes": [], "edges": []}),
    ("an empty draft, no edges key", {"nodes": []}),
    ("one noop, no edges key", {"nodes": [node("a")]}),
    ("explicit empty config and edges", {"nodes": [node("a", config={})], "edges": []}),
    ("id characters", {"nodes": [node("Az09_.-")]}),
    ("100-character id", {"nodes": [node("x" * 100)]}),
    ("delay 0", {"nodes": [node("a", "delay", {"ms": 0})]}),
    ("delay 10000", {"nodes": [node("a", "delay", {"ms": 10_000})]}),
    ("transform empty set", {"nodes": [node("a", "transform", {"set": {}})]}),
    (
        "transform nested set",
        {"nodes": [node("a", "transform", {"set": {"x": [1, {"y": None}], "z": "é"}})]},
    ),
    ("fail 1 char", {"nodes": [node("a", "fail", {"message": "x"})]}),
    ("fail 1000 chars", {"nodes": [node("a", "fail", {"message": "é" * 1000})]}),
    ("diamond", graph("abcd", ["ab", "ac", "bd", "cd"])),
    ("edges against node order", graph("abc", ["cb", "ba"])),
    ("two components", graph("abcd", ["ab", "cd"])),
    (
        "500 nodes in a chain",
        {
            "nodes": [node(f"n{i}") for i in range(500)],
            "edges": [edge(f"n{i}", f"n{i + 1}") for i in range(499)],
        },
    ),
]


@pytest.mark.parametrize(("definition"), [d for _, d in VALID], ids=[n for n, _ in VALID])
def test_valid_definitions_have_no_problems(definition: dict[str, Any]) -> None:
    assert validate_definition(definition) == []


INVALID: list[tuple[str, object, list[tuple[str, str]]]] = [
    ("a list", [], [(D, 'must be an object with "nodes" and "edges"')]),
    ("null", None, [(D, "must be an object")]),
    ("a string", "nodes", [(D, "must be an object")]),
    ("no nodes", {}, [(N, "is required: a list of at most 500 nodes ([] for a draft)")]),
    ("nodes an object", {"nodes": {"a": {}}}, [(N, "must be a list of at most 500 nodes")]),
    (
        "unknown top-level keys",
        {"name": "x", "nodes": [node("a")], "odd key": 1},
        [
            (f"{D}.name", "is not allowed; allowed keys: nodes, edges"),
            (f'{D}["odd key"]', "is not allowed; allowed keys: nodes, edges"),
        ],
    ),
    ("edges null", {"nodes": [node("a")], "edges": None}, [(E, "must be a list")]),
    ("edges an object", {"nodes": [node("a")], "edges": {}}, [(E, "must be a list")]),
    (
        "node not an object",
        {"nodes": ["a", node("b")]},
        [(f"{N}[0]", 'must be an object with "id", "type" and "config"')],
    ),
    (
        "node with unknown key",
        {"nodes": [{**node("a"), "name": "A"}]},
        [(f"{N}[0].name", "is not allowed; allowed keys: id, type, config")],
    ),
    ("id missing", {"nodes": [{"type": "noop"}]}, [(f"{N}[0].id", "is required")]),
    ("id a number", {"nodes": [node(7)]}, [(f"{N}[0].id", "must be a string")]),
    ("id empty", {"nodes": [node("")]}, [(f"{N}[0].id", "must not be empty")]),
    (
        "id 101 characters",
        {"nodes": [node("x" * 101)]},
        [(f"{N}[0].id", "is 101 characters long; at most 100 are allowed")],
    ),
    ("id with a space", {"nodes": [node("a b")]}, [(f"{N}[0].id", "may contain only letters")]),
    ("id with a newline", {"nodes": [node("a\n")]}, [(f"{N}[0].id", "may contain only")]),
    ("id not ASCII", {"nodes": [node("é")]}, [(f"{N}[0].id", "may contain only")]),
    (
        "duplicate ids",
        {"nodes": [node("a"), node("b"), node("a"), node("b")]},
        [
            (f"{N}[2].id", "duplicates the id of nodes[0]; node ids must be unique"),
            (f"{N}[3].id", "duplicates the id of nodes[1]"),
        ],
    ),
    (
        "type missing",
        {"nodes": [{"id": "a"}]},
        [(f"{N}[0].type", "is required: one of delay, fail, http, noop, transform")],
    ),
    ("type a number", {"nodes": [node("a", 1)]}, [(f"{N}[0].type", "must be a string")]),
    (
        "unknown type",
        {"nodes": [node("a", "email")]},
        [
            (
                f"{N}[0].type",
                '"email" is not a node type; use one of delay, fail, http, noop, transform',
            )
        ],
    ),
    (
        "unknown type and a config that is not an object",
        {"nodes": [node("a", "email", [1])]},
        [(f"{N}[0].type", "is not a node type"), (f"{N}[0].config", "must be an object")],
    ),
    (
        "noop with config",
        {"nodes": [node("a", "noop", {"x": 1})]},
        [(f"{N}[0].config.x", "is not allowed; noop takes no config")],
    ),
    (
        "noop config null",
        {"nodes": [{**node("a"), "config": None}]},
        [(f"{N}[0].config", "must be an object (noop takes no config)")],
    ),
    (
        "delay without config",
        {"nodes": [node("a", "delay")]},
        [(f"{N}[0].config.ms", "is required: an integer from 0 to 10000")],
    ),
    (
        "delay ms true",
        {"nodes": [node("a", "delay", {"ms": True})]},
        [(f"{N}[0].config.ms", "must be an integer from 0 to 10000")],
    ),
    (
        "delay ms -1",
        {"nodes": [node("a", "delay", {"ms": -1})]},
        [(f"{N}[0].config.ms", "must be an integer from 0 to 10000")],
    ),
    (
        "delay ms 10001",
        {"nodes": [node("a", "delay", {"ms": 10_001})]},
        [(f"{N}[0].config.ms", "must be an integer")],
    ),
    (
        "delay ms 5.0",
        {"nodes": [node("a", "delay", {"ms": 5.0})]},
        [(f"{N}[0].config.ms", "must be an integer")],
    ),
    (
        "delay ms a string",
        {"nodes": [node("a", "delay", {"ms": "5"})]},
        [(f"{N}[0].config.ms", "must be an integer")],
    ),
    (
        "delay with an extra key",
        {"nodes": [node("a", "delay", {"ms": 1, "seconds": 1})]},
        [(f"{N}[0].config.seconds", "is not allowed; delay config allows ms")],
    ),
    (
        "transform without set",
        {"nodes": [node("a", "transform")]},
        [(f"{N}[0].config.set", "is required: an object")],
    ),
    (
        "transform set a list",
        {"nodes": [node("a", "transform", {"set": []})]},
        [(f"{N}[0].config.set", "must be an object")],
    ),
    (
        "transform set null",
        {"nodes": [node("a", "transform", {"set": None})]},
        [(f"{N}[0].config.set", "must be an object")],
    ),
    (
        "fail without message",
        {"nodes": [node("a", "fail")]},
        [(f"{N}[0].config.message", "is required: a string of 1 to 1000 characters")],
    ),
    (
        "fail empty message",
        {"nodes": [node("a", "fail", {"message": ""})]},
        [(f"{N}[0].config.message", "must be a string of 1 to 1000 characters")],
    ),
    (
        "fail 1001 chars",
        {"nodes": [node("a", "fail", {"message": "x" * 1001})]},
        [(f"{N}[0].config.message", "must be a string of 1 to 1000")],
    ),
    (
        "fail message a number",
        {"nodes": [node("a", "fail", {"message": 5})]},
        [(f"{N}[0].config.message", "must be a string")],
    ),
    (
        "edge not an object",
        {"nodes": [node("a")], "edges": [["a", "b"]]},
        [(f"{E}[0]", 'must be an object with "from" and "to"')],
    ),
    (
        "edge with unknown key and missing ends",
        {"nodes": [node("a")], "edges": [{"source": "a"}]},
        [
            (f"{E}[0].source", "is not allowed; allowed keys: from, to"),
            (f"{E}[0].from", "is required: the id of a node"),
            (f"{E}[0].to", "is required: the id of a node"),
        ],
    ),
    (
        "edge end not a string",
        {"nodes": [node("a")], "edges": [{"from": "a", "to": 1}]},
        [(f"{E}[0].to", "must be a string: the id of a node")],
    ),
    (
        "dangling edges",
        graph("ab", ["ab", "xb", "ay", "zz"]),
        [
            (f"{E}[1].from", 'refers to node "x", which does not exist'),
            (f"{E}[2].to", 'refers to node "y", which does not exist'),
            (f"{E}[3].from", 'refers to node "z"'),
            (f"{E}[3].to", 'refers to node "z"'),
        ],
    ),
    (
        "self-loop",
        graph("ab", ["ab", "bb"]),
        [(f"{E}[1]", 'connects node "b" to itself')],
    ),
    (
        "duplicate edge",
        graph("abc", ["ab", "bc", "ab"]),
        [(f"{E}[2]", "repeats edges[0]; each edge may appear only once")],
    ),
    ("two-node cycle", graph("ab", ["ab", "ba"]), [(E, "form a cycle: a -> b -> a")]),
    (
        "three-node cycle reported from its first node, with tails left out",
        graph("xcabd", ["xa", "ab", "bc", "ca", "cd"]),
        [(E, "form a cycle: c -> a -> b -> c")],
    ),
    (
        "the shortest cycle through the first node of a tangle",
        graph("abcd", ["ab", "bc", "cd", "da", "ca"]),
        [(E, "form a cycle: a -> b -> c -> a;")],
    ),
    (
        "two separate cycles, in node order",
        graph("abcdef", ["ef", "fe", "ab", "ba", "cd"]),
        [(E, "form a cycle: a -> b -> a"), (E, "form a cycle: e -> f -> e")],
    ),
    (
        "problems of every part, in document order",
        {
            "nodes": [node("a"), node("b", "delay", {"ms": True}), node("a", "x", 3)],
            "edges": [edge("a", "b"), edge("b", "a"), edge("a", "q"), edge("a", "a")],
            "extra": 1,
        },
        [
            (f"{D}.extra", "is not allowed"),
            (f"{N}[1].config.ms", "must be an integer"),
            (f"{N}[2].id", "duplicates the id of nodes[0]"),
            (f"{N}[2].type", '"x" is not a node type'),
            (f"{N}[2].config", "must be an object"),
            (f"{E}[2].to", 'refers to node "q"'),
            (f"{E}[3]", 'connects node "a" to itself'),
            (E, "form a cycle: a -> b -> a"),
        ],
    ),
]


@pytest.mark.parametrize(
    ("definition", "expected"), [(d, e) for _, d, e in INVALID], ids=[n for n, _, _ in INVALID]
)
def test_invalid_definitions_report_each_problem(
    definition: object, expected: list[tuple[str, str]]
) -> None:
    problems = validate_definition(definition)
    assert found(problems, expected) == expected


def test_the_path_argument_prefixes_every_field() -> None:
    problems = validate_definition(
        {"nodes": [node("a", "delay")]}, path="data.workflows[2].definition"
    )
    assert [p.field for p in problems] == ["data.workflows[2].definition.nodes[0].config.ms"]


def test_edges_between_duplicated_ids_are_not_called_dangling() -> None:
    definition = {"nodes": [node("a"), node("a"), node("b")], "edges": [edge("a", "b")]}
    assert [p.field for p in validate_definition(definition)] == [f"{N}[1].id"]


def test_501_nodes_are_refused() -> None:
    definition = {"nodes": [node(f"n{i}") for i in range(501)]}
    problems = validate_definition(definition)
    assert found(problems, [(N, "has 501 nodes; at most 500 are allowed")]) == [
        (N, "has 501 nodes; at most 500 are allowed")
    ]


def test_5000_edges_pass_and_5001_are_refused() -> None:
    ids = [f"n{i}" for i in range(101)]
    pairs = [edge(a, b) for i, a in enumerate(ids) for b in ids[i + 1 :]]
    assert len(pairs) > 5001
    nodes = [node(i) for i in ids]
    assert validate_definition({"nodes": nodes, "edges": pairs[:5000]}) == []
    problems = validate_definition({"nodes": nodes, "edges": pairs[:5001]})
    expected = [(E, "has 5001 edges; at most 5000 are allowed")]
    assert found(problems, expected) == expected


def test_a_long_cycle_is_shown_by_its_first_ids() -> None:
    ids = [f"n{i}" for i in range(500)]
    definition = {
        "nodes": [node(i) for i in ids],
        "edges": [edge(a, b) for a, b in itertools.pairwise(ids)] + [edge("n499", "n0")],
    }
    [problem] = validate_definition(definition)
    assert problem.field == E
    first = " -> ".join(ids[:20])
    assert problem.message.startswith(f"form a cycle: {first} -> … (480 more nodes) -> n0;")


def test_problems_are_capped_at_50_plus_a_note() -> None:
    definition = {"nodes": [node(f"bad id {i}") for i in range(60)]}
    problems = validate_definition(definition)
    assert len(problems) == 51
    assert [p.field for p in problems[:50]] == [f"{N}[{i}].id" for i in range(50)]
    assert problems[50] == FieldProblem(D, "has 10 more problems not listed (at most 50)")


def test_problems_under_the_cap_get_no_note() -> None:
    problems = validate_definition({"nodes": [node(f"bad id {i}") for i in range(50)]})
    assert len(problems) == 50
    assert all(p.field != D for p in problems)


# ---------------------------------------------------------------- JSON guards


def test_a_300_kib_definition_is_refused_before_anything_else() -> None:
    big = "x" * (300 * 1024)
    definition = {"nodes": [node("a", "transform", {"set": {"blob": big}}), node("a")], "x": 1}
    problems = validate_definition(definition)
    assert problems == [
        FieldProblem(D, "is too large: at most 262144 bytes (256 KiB) of JSON allowed")
    ]


def test_nesting_40_deep_inside_set_is_refused_where_it_gets_too_deep() -> None:
    definition = {"nodes": [node("a", "transform", {"set": nested_object(40)})]}
    problems = validate_definition(definition)
    # definition, nodes, node and config take 4 levels, set the 5th: its 28th "a" is the 33rd.
    field = f"{N}[0].config.set" + ".a" * 28
    assert problems == [
        FieldProblem(
            field, "is nested too deeply: at most 32 levels of objects and arrays are allowed"
        )
    ]


def test_set_nested_to_exactly_32_levels_overall_is_accepted() -> None:
    definition = {"nodes": [node("a", "transform", {"set": nested_object(28)})]}
    assert validate_definition(definition) == []
    definition = {"nodes": [node("a", "transform", {"set": nested_object(29)})]}
    assert len(validate_definition(definition)) == 1


@pytest.mark.parametrize(
    ("value", "depth"),
    [
        (0, 0),
        ("text", 0),
        (None, 0),
        ({}, 1),
        ([], 1),
        ({"a": {}}, 2),
        ([[], [[]]], 3),
        ({"a": 1, "b": [{"c": []}]}, 4),
        (nested_list(32), 32),
    ],
)
def test_depth_counts_levels_of_containers(value: object, depth: int) -> None:
    assert check_json_size(value, path="x", max_depth=depth) == []
    if depth > 0:
        [problem] = check_json_size(value, path="x", max_depth=depth - 1)
        assert "is nested too deeply" in problem.message


def test_a_100000_deep_list_is_refused_without_recursion_error() -> None:
    value = nested_list(100_000)
    [problem] = check_json_size(value, path="input.data")
    assert problem.field == "input.data" + "[0]" * 32
    assert "at most 32 levels" in problem.message
    [problem] = validate_definition(value)
    assert problem.field == D + "[0]" * 32


def test_a_100000_deep_object_is_refused_without_recursion_error() -> None:
    [problem] = check_json_size(nested_object(100_000), path="input.input")
    assert problem.field == "input.input" + ".a" * 32


SIZED_VALUES: list[object] = [
    0,
    -12.5e-7,
    True,
    False,
    None,
    "",
    'quote " backslash \\ newline \n tab \t bell \x07 del \x7f',
    "é€😀",
    {"k": "v", "é": [1, 2.5, None, True, False, {}], "": []},
    [[], {}, "", 10**30],
    {"nodes": [node("a", "transform", {"set": {"x": ["é" * 50, 1e300]}})], "edges": []},
]


@pytest.mark.parametrize("value", SIZED_VALUES)
def test_size_is_the_compact_utf8_json_encoding(value: object) -> None:
    size = compact_size(value)
    assert check_json_size(value, path="x", max_bytes=size) == []
    [problem] = check_json_size(value, path="x", max_bytes=size - 1)
    assert problem == FieldProblem(
        "x", f"is too large: at most {size - 1} bytes ({(size - 1) / 1024:g} KiB) of JSON allowed"
    )


def test_the_default_limit_is_256_kib_inclusive() -> None:
    exact = ["x" * (256 * 1024 - 4)]  # brackets and quotes take 4 bytes
    assert compact_size(exact) == 256 * 1024
    assert check_json_size(exact, path="x") == []
    assert len(check_json_size(["x" + exact[0]], path="x")) == 1


def test_a_long_flat_list_within_the_size_is_accepted() -> None:
    assert check_json_size([0] * 100_000, path="x") == []


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ({"a": "x\x00y"}, [("input.data.a", "contains a NUL character")]),
        ({"a\x00": 1}, [('input.data["a\\u0000"]', "its key contains a NUL character")]),
        (["\ud800"], [("input.data[0]", "contains an unpaired surrogate")]),
        ({"k\udc00": 1}, [('input.data["k\ufffd"]', "its key contains an unpaired surrogate")]),
        (
            [float("nan"), float("inf"), -float("inf")],
            [
                ("input.data[0]", "must be a finite number"),
                ("input.data[1]", "must be a finite number"),
                ("input.data[2]", "must be a finite number"),
            ],
        ),
        ({"a": b"bytes"}, [("input.data.a", "is not a JSON value (bytes)")]),
        ({1: "x"}, [("input.data", "has a key that is not a string")]),
        ([10**5000], [("input.data[0]", "is a number with too many digits")]),
    ],
)
def test_values_a_json_column_cannot_store_are_refused(
    value: object, expected: list[tuple[str, str]]
) -> None:
    problems = check_json_size(value, path="input.data")
    assert found(problems, expected) == expected
    # Every problem can itself be sent back in a UTF-8 JSON response.
    json.dumps([(p.field, p.message) for p in problems], ensure_ascii=False).encode()


def test_odd_keys_are_quoted_in_paths() -> None:
    value = {"a.b": {"c d": {"é": {"_ok9": "\x00"}}}}
    [problem] = check_json_size(value, path="input.data")
    assert problem.field == 'input.data["a.b"]["c d"]["é"]._ok9'


def test_guard_problems_stop_definition_checks() -> None:
    definition = {"nodes": [node("a", "transform", {"set": {"x": "\x00"}})], "extra": 1}
    problems = validate_definition(definition)
    assert [p.field for p in problems] == [f"{N}[0].config.set.x"]


# ---------------------------------------------------------------- graph helpers


def test_topological_order_follows_edges_then_node_order() -> None:
    assert topological_order(graph("cab", [])) == ["c", "a", "b"]
    assert topological_order(graph("cab", ["bc"])) == ["a", "b", "c"]
    assert topological_order(graph("dcba", ["ab", "ac", "bd", "cd"])) == ["a", "c", "b", "d"]


def test_topological_order_of_a_long_chain_given_backwards() -> None:
    ids = [f"n{i}" for i in range(500)]
    definition = {
        "nodes": [node(i) for i in reversed(ids)],
        "edges": [edge(a, b) for a, b in itertools.pairwise(ids)],
    }
    assert topological_order(definition) == ids


def test_topological_order_refuses_a_cycle() -> None:
    with pytest.raises(ValueError, match="cycle"):
        topological_order(graph("ab", ["ab", "ba"]))


def test_predecessors_are_listed_for_every_node_in_node_order() -> None:
    definition = graph("abcd", ["cd", "ad", "bd", "ab"])
    assert predecessors(definition) == {"a": [], "b": ["a"], "c": [], "d": ["a", "b", "c"]}
    assert list(predecessors(definition)) == ["a", "b", "c", "d"]


def test_sinks_are_nodes_without_successors_in_node_order() -> None:
    assert sinks(graph("dcba", ["ab", "ac"])) == ["d", "c", "b"]
    assert sinks({"nodes": [node("only")]}) == ["only"]


# ---------------------------------------------------------------- node types


class NoContext:
    """A NodeContext for node types that use none of it."""

    tenant_id = uuid.uuid4()
    execution_id = uuid.uuid4()
    node_id = "n"

    @property
    def outbound(self) -> OutboundPolicy:
        raise AssertionError("not used by this node type")

    async def provider_key_secret(self, key_id: str) -> str:
        raise AssertionError("not used by this node type")


NO_CONTEXT = NoContext()


def test_the_registry_holds_the_contract_types_by_name() -> None:
    assert sorted(NODE_TYPES) == ["delay", "fail", "http", "noop", "transform"]
    assert all(node_type.name == name for name, node_type in NODE_TYPES.items())
    with pytest.raises(TypeError):
        NODE_TYPES["email"] = NODE_TYPES["noop"]  # type: ignore[index]


async def test_noop_passes_its_input_on() -> None:
    data = {"a": [1]}
    assert await NODE_TYPES["noop"].run({}, data, NO_CONTEXT) is data


async def test_delay_waits_ms_then_passes_its_input_on(monkeypatch: pytest.MonkeyPatch) -> None:
    waited: list[float] = []

    async def fake_sleep(seconds: float) -> None:
        waited.append(seconds)

    monkeypatch.setattr("tenantflow.definitions.node_types.asyncio.sleep", fake_sleep)
    assert await NODE_TYPES["delay"].run({"ms": 250}, [1, 2], NO_CONTEXT) == [1, 2]
    assert waited == [0.25]


async def test_delay_really_sleeps() -> None:
    assert await NODE_TYPES["delay"].run({"ms": 1}, "x", NO_CONTEXT) == "x"


async def test_transform_merges_set_over_a_dict_input() -> None:
    data = {"a": 1, "b": 2}
    output = await NODE_TYPES["transform"].run({"set": {"b": 3, "c": 4}}, data, NO_CONTEXT)
    assert output == {"a": 1, "b": 3, "c": 4}
    assert data == {"a": 1, "b": 2}


@pytest.mark.parametrize("data", [None, [1, 2], "text", 5])
async def test_transform_of_a_non_dict_input_gives_a_copy_of_set(data: object) -> None:
    config = {"set": {"c": 4}}
    output = await NODE_TYPES["transform"].run(config, data, NO_CONTEXT)
    assert output == {"c": 4}
    output["d"] = 5
    assert config == {"set": {"c": 4}}


async def test_fail_raises_node_failure_with_its_message() -> None:
    with pytest.raises(NodeFailure, match=r"^card declined$") as raised:
        await NODE_TYPES["fail"].run({"message": "card declined"}, {"a": 1}, NO_CONTEXT)
    assert raised.value.message == "card declined"


def test_validate_config_can_be_called_on_its_own() -> None:
    problems = NODE_TYPES["delay"].validate_config({"ms": 20_000, "x": 1}, path="c")
    assert [p.field for p in problems] == ["c.x", "c.ms"]
