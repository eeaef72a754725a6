"""Validation of workflow definitions and JSON inputs, and graph helpers for the executor.

Everything here is pure: no I/O, no database. Validators return every problem they find, in
document order (top-level keys, then nodes in order, then edges in order, then cycles), capped at
`MAX_PROBLEMS` plus one last problem saying how many more were left out.

A definition is `{"nodes": [{"id", "type", "config"}], "edges": [{"from", "to"}]}`; `edges` and
each node's `config` may be omitted (meaning `[]` and `{}`), but not given as `null`. No nodes at
all is a valid draft (a workflow is created before it is built); running it is refused elsewhere.
"""

from __future__ import annotations

import heapq
import json
import math
import re
from collections import deque
from collections.abc import Iterator, Mapping, Sequence
from typing import Any

from tenantflow.definitions.node_base import FieldProblem, join_index, join_key, quote, shorten
from tenantflow.definitions.node_types import NODE_TYPES

__all__ = [
    "JSON_MAX_BYTES",
    "JSON_MAX_DEPTH",
    "MAX_EDGES",
    "MAX_NODES",
    "MAX_PROBLEMS",
    "FieldProblem",
    "check_json_size",
    "predecessors",
    "sinks",
    "topological_order",
    "validate_definition",
]

JSON_MAX_BYTES = 256 * 1024
JSON_MAX_DEPTH = 32
MAX_NODES = 500
MAX_EDGES = 5_000
MAX_NODE_ID_CHARS = 100
MAX_PROBLEMS = 50
# A cycle longer than this is shown by its first ids only, to keep the message readable.
_CYCLE_IDS_SHOWN = 20

_DEFINITION_KEYS = ("nodes", "edges")
_NODE_KEYS = ("id", "type", "config")
_EDGE_KEYS = ("from", "to")
_NODE_ID = re.compile(r"[A-Za-z0-9_.-]+")
_ID_CHARS = "letters A-Z and a-z, digits, '_', '.' and '-'"

Edge = tuple[str, str]


# ---------------------------------------------------------------- JSON guards


def check_json_size(
    value: object,
    *,
    path: str,
    max_bytes: int = JSON_MAX_BYTES,
    max_depth: int = JSON_MAX_DEPTH,
) -> list[FieldProblem]:
    """Problems that make `value` unacceptable as a JSON input, whatever its meaning.

    - larger than `max_bytes` as compact UTF-8 JSON (reported at `path`);
    - nested deeper than `max_depth` (a scalar is depth 0, `{}` and `[]` depth 1), reported at
      the first object or array that is too deep;
    - values a JSON column cannot store: strings or keys with NUL or unpaired surrogates,
      NaN and infinities, non-string keys, non-JSON Python objects (reported where they are).

    The walk is iterative and stops at the first size or depth problem, so its cost is bounded
    by `max_bytes` and `max_depth` however large or deep `value` is.
    """
    problems = _JsonWalk(path, max_bytes, max_depth).run(value)
    return _capped(problems, path)


class _JsonWalk:
    """One pass over a JSON value with an explicit stack: no Python recursion, any nesting."""

    def __init__(self, path: str, max_bytes: int, max_depth: int) -> None:
        self.path = path
        self.max_bytes = max_bytes
        self.max_depth = max_depth
        self.problems: list[FieldProblem] = []
        self.size = 0
        self.stopped = False
        # Each frame: the children still to visit of one container, and its nesting level.
        self.stack: list[tuple[Iterator[tuple[str, object]], int]] = []

    def run(self, root: object) -> list[FieldProblem]:
        self._visit(root, self.path, 0)
        while self.stack and not self.stopped:
            children, level = self.stack[-1]
            child = next(children, None)
            if child is None:
                self.stack.pop()
            else:
                self._visit(child[1], child[0], level)
        return self.problems

    def _visit(self, value: object, where: str, level: int) -> None:
        """Visit `value`, enclosed by `level` containers."""
        if isinstance(value, dict | list | tuple):
            if level >= self.max_depth:
                levels = f"at most {self.max_depth} levels of objects and arrays are allowed"
                self._stop(FieldProblem(where, f"is nested too deeply: {levels}"))
                return
            self._count(2 + max(len(value) - 1, 0))  # brackets and commas
            children = (
                self._members(value, where)
                if isinstance(value, dict)
                else self._items(value, where)
            )
            self.stack.append((children, level + 1))
        else:
            self._scalar(value, where)

    def _members(self, obj: dict[Any, Any], where: str) -> Iterator[tuple[str, object]]:
        for key, value in obj.items():
            if not isinstance(key, str):
                self.problems.append(FieldProblem(where, "has a key that is not a string"))
                continue
            key_path = join_key(where, key)
            self._count(_encoded_len(key) + 1)  # the key and its colon
            self._check_text(key, key_path, "its key ")
            yield key_path, value

    @staticmethod
    def _items(items: Sequence[object], where: str) -> Iterator[tuple[str, object]]:
        for index, value in enumerate(items):
            yield join_index(where, index), value

    def _scalar(self, value: object, where: str) -> None:
        if value is None or value is True:
            self._count(4)
        elif value is False:
            self._count(5)
        elif isinstance(value, str):
            self._count(_encoded_len(value))
            self._check_text(value, where, "")
        elif isinstance(value, int):
            self._integer(value, where)
        elif isinstance(value, float):
            if math.isfinite(value):
                self._count(len(repr(value)))
            else:
                self.problems.append(FieldProblem(where, "must be a finite number"))
        else:
            kind = type(value).__name__
            self.problems.append(FieldProblem(where, f"is not a JSON value ({kind})"))

    def _integer(self, value: int, where: str) -> None:
        try:
            self._count(len(str(value)))
        except ValueError:  # Python refuses to print integers of more than 4300 digits
            self.problems.append(FieldProblem(where, "is a number with too many digits"))

    def _check_text(self, text: str, where: str, subject: str) -> None:
        # PostgreSQL's jsonb refuses both, which would otherwise surface as an internal error.
        if "\x00" in text:
            message = f"{subject}contains a NUL character (\\u0000)"
            self.problems.append(FieldProblem(where, message))
        try:
            text.encode("utf-8")
        except UnicodeEncodeError:
            message = f"{subject}contains an unpaired surrogate (not valid Unicode)"
            self.problems.append(FieldProblem(where, message))

    def _count(self, size: int) -> None:
        self.size += size
        if self.size > self.max_bytes and not self.stopped:
            kib = self.max_bytes / 1024
            limit = f"{self.max_bytes} bytes ({kib:g} KiB)"
            self._stop(FieldProblem(self.path, f"is too large: at most {limit} of JSON allowed"))

    def _stop(self, problem: FieldProblem) -> None:
        self.problems.append(problem)
        self.stopped = True


def _encoded_len(text: str) -> int:
    """Bytes of `text` as a compact JSON string (quotes and escapes included)."""
    return len(json.dumps(text, ensure_ascii=False).encode("utf-8", "surrogatepass"))


def _capped(problems: list[FieldProblem], path: str) -> list[FieldProblem]:
    if len(problems) <= MAX_PROBLEMS:
        return problems
    omitted = len(problems) - MAX_PROBLEMS
    more = FieldProblem(path, f"has {omitted} more problems not listed (at most {MAX_PROBLEMS})")
    return [*problems[:MAX_PROBLEMS], more]


# ---------------------------------------------------------------- definitions


def validate_definition(
    definition: object, *, path: str = "input.definition"
) -> list[FieldProblem]:
    """Every problem of a workflow definition; an empty list means it is valid.

    The JSON guards run first; when they find anything, nothing else is checked.
    """
    problems = check_json_size(definition, path=path)
    if problems:
        return problems
    if not isinstance(definition, dict):
        return [FieldProblem(path, 'must be an object with "nodes" and "edges"')]
    problems = _unknown_keys(definition, path, _DEFINITION_KEYS)
    node_problems, node_ids = _check_nodes(definition, path)
    problems.extend(node_problems)
    edge_problems, edges = _check_edges(definition, path, node_ids)
    problems.extend(edge_problems)
    problems.extend(_cycle_problems(node_ids, edges, join_key(path, "edges")))
    return _capped(problems, path)


def _unknown_keys(
    obj: Mapping[Any, Any], path: str, allowed: tuple[str, ...]
) -> list[FieldProblem]:
    message = f"is not allowed; allowed keys: {', '.join(allowed)}"
    return [FieldProblem(join_key(path, key), message) for key in obj if key not in allowed]


def _check_nodes(definition: Mapping[str, Any], path: str) -> tuple[list[FieldProblem], list[str]]:
    """Problems of `nodes`, and the distinct string ids of its nodes in order."""
    nodes_path = join_key(path, "nodes")
    allowed = f"a list of at most {MAX_NODES} nodes"
    if "nodes" not in definition:
        return [FieldProblem(nodes_path, f"is required: {allowed} ([] for a draft)")], []
    nodes = definition["nodes"]
    if not isinstance(nodes, list):
        return [FieldProblem(nodes_path, f"must be {allowed}")], []
    problems: list[FieldProblem] = []
    if len(nodes) > MAX_NODES:
        message = f"has {len(nodes)} nodes; at most {MAX_NODES} are allowed"
        problems.append(FieldProblem(nodes_path, message))
    first_index: dict[str, int] = {}
    for index, node in enumerate(nodes):
        problems.extend(_check_node(node, join_index(nodes_path, index), index, first_index))
    return problems, list(first_index)


def _check_node(
    node: object, node_path: str, index: int, first_index: dict[str, int]
) -> list[FieldProblem]:
    if not isinstance(node, dict):
        return [FieldProblem(node_path, 'must be an object with "id", "type" and "config"')]
    problems = _unknown_keys(node, node_path, _NODE_KEYS)
    problems.extend(_check_node_id(node, join_key(node_path, "id"), index, first_index))
    problems.extend(_check_type_and_config(node, node_path))
    return problems


def _check_node_id(
    node: Mapping[str, Any], id_path: str, index: int, first_index: dict[str, int]
) -> list[FieldProblem]:
    allowed = f"1 to {MAX_NODE_ID_CHARS} {_ID_CHARS}"
    if "id" not in node:
        return [FieldProblem(id_path, f"is required: {allowed}")]
    node_id = node["id"]
    if not isinstance(node_id, str):
        return [FieldProblem(id_path, f"must be a string of {allowed}")]
    problems: list[FieldProblem] = []
    if not node_id:
        problems.append(FieldProblem(id_path, f"must not be empty: use {allowed}"))
    elif len(node_id) > MAX_NODE_ID_CHARS:
        message = f"is {len(node_id)} characters long; at most {MAX_NODE_ID_CHARS} are allowed"
        problems.append(FieldProblem(id_path, message))
    elif not _NODE_ID.fullmatch(node_id):
        problems.append(FieldProblem(id_path, f"may contain only {_ID_CHARS}"))
    if node_id in first_index:
        message = f"duplicates the id of nodes[{first_index[node_id]}]; node ids must be unique"
        problems.append(FieldProblem(id_path, message))
    else:
        first_index[node_id] = index
    return problems


def _check_type_and_config(node: Mapping[str, Any], node_path: str) -> list[FieldProblem]:
    type_path = join_key(node_path, "type")
    config_path = join_key(node_path, "config")
    config = node.get("config", {})
    known = f"one of {', '.join(sorted(NODE_TYPES))}"
    if "type" not in node:
        problems = [FieldProblem(type_path, f"is required: {known}")]
    elif not isinstance(node["type"], str):
        problems = [FieldProblem(type_path, f"must be a string: {known}")]
    elif node["type"] not in NODE_TYPES:
        message = f"{quote(node['type'])} is not a node type; use {known}"
        problems = [FieldProblem(type_path, message)]
    else:
        return NODE_TYPES[node["type"]].validate_config(config, path=config_path)
    # Without a known type only the shape of the config can be checked.
    if not isinstance(config, dict):
        problems.append(FieldProblem(config_path, "must be an object"))
    return problems


def _check_edges(
    definition: Mapping[str, Any], path: str, node_ids: list[str]
) -> tuple[list[FieldProblem], list[Edge]]:
    """Problems of `edges`, and the distinct well-formed edges between existing nodes."""
    edges_path = join_key(path, "edges")
    edges = definition.get("edges", [])
    if not isinstance(edges, list):
        return [FieldProblem(edges_path, f"must be a list of at most {MAX_EDGES} edges")], []
    problems: list[FieldProblem] = []
    if len(edges) > MAX_EDGES:
        message = f"has {len(edges)} edges; at most {MAX_EDGES} are allowed"
        problems.append(FieldProblem(edges_path, message))
    known = set(node_ids)
    first_index: dict[Edge, int] = {}
    for index, edge in enumerate(edges):
        edge_path = join_index(edges_path, index)
        ends, edge_problems = _check_edge(edge, edge_path, known)
        problems.extend(edge_problems)
        if ends is None:
            continue
        if ends[0] == ends[1]:
            message = f"connects node {quote(ends[0])} to itself; an edge must join two nodes"
            problems.append(FieldProblem(edge_path, message))
        elif ends in first_index:
            message = f"repeats edges[{first_index[ends]}]; each edge may appear only once"
            problems.append(FieldProblem(edge_path, message))
        else:
            first_index[ends] = index
    return problems, list(first_index)


def _check_edge(
    edge: object, edge_path: str, known: set[str]
) -> tuple[Edge | None, list[FieldProblem]]:
    if not isinstance(edge, dict):
        return None, [FieldProblem(edge_path, 'must be an object with "from" and "to"')]
    problems = _unknown_keys(edge, edge_path, _EDGE_KEYS)
    ends: list[str] = []
    for key in _EDGE_KEYS:
        end_path = join_key(edge_path, key)
        if key not in edge:
            problems.append(FieldProblem(end_path, "is required: the id of a node"))
        elif not isinstance(edge[key], str):
            problems.append(FieldProblem(end_path, "must be a string: the id of a node"))
        elif edge[key] not in known:
            message = f"refers to node {quote(edge[key])}, which does not exist"
            problems.append(FieldProblem(end_path, message))
        else:
            ends.append(edge[key])
    return ((ends[0], ends[1]) if len(ends) == 2 else None), problems


# ---------------------------------------------------------------- cycles


def _cycle_problems(node_ids: list[str], edges: list[Edge], edges_path: str) -> list[FieldProblem]:
    """One problem per group of nodes that loop back on each other, in node order."""
    successors = _successors(node_ids, edges)
    position = {node_id: index for index, node_id in enumerate(node_ids)}
    problems = []
    components = [c for c in _strongly_connected(node_ids, successors) if len(c) > 1]
    for component in sorted(components, key=lambda c: min(position[n] for n in c)):
        cycle = _shortest_cycle(min(component, key=position.__getitem__), successors, component)
        message = f"form a cycle: {_describe_cycle(cycle)}; a workflow must not loop back"
        problems.append(FieldProblem(edges_path, message))
    return problems


def _successors(node_ids: Sequence[str], edges: Sequence[Edge]) -> dict[str, list[str]]:
    successors: dict[str, list[str]] = {node_id: [] for node_id in node_ids}
    for source, target in edges:
        successors[source].append(target)
    return successors


def _strongly_connected(
    node_ids: Sequence[str], successors: Mapping[str, Sequence[str]]
) -> list[set[str]]:
    """Tarjan's algorithm with an explicit stack (definitions may be deep chains)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    path: list[str] = []
    on_path: set[str] = set()
    components: list[set[str]] = []

    def enter(node: str) -> tuple[str, Iterator[str]]:
        index[node] = low[node] = len(index)
        path.append(node)
        on_path.add(node)
        return node, iter(successors[node])

    for root in node_ids:
        if root in index:
            continue
        work = [enter(root)]
        while work:
            node, pending = work[-1]
            for target in pending:
                if target not in index:
                    work.append(enter(target))
                    break
                if target in on_path:
                    low[node] = min(low[node], index[target])
            else:
                work.pop()
                if work:
                    parent = work[-1][0]
                    low[parent] = min(low[parent], low[node])
                if low[node] == index[node]:
                    components.append(_pop_component(path, on_path, node))
    return components


def _pop_component(path: list[str], on_path: set[str], root: str) -> set[str]:
    component: set[str] = set()
    while True:
        node = path.pop()
        on_path.discard(node)
        component.add(node)
        if node == root:
            return component


def _shortest_cycle(
    start: str, successors: Mapping[str, Sequence[str]], component: set[str]
) -> list[str]:
    """The shortest cycle through `start` (breadth first, edges in order), `start` first."""
    parent: dict[str, str] = {}
    queue = deque([start])
    while queue:
        node = queue.popleft()
        for target in successors[node]:
            if target == start:
                cycle = [node]
                while cycle[-1] != start:
                    cycle.append(parent[cycle[-1]])
                return cycle[::-1]
            if target in component and target not in parent:
                parent[target] = node
                queue.append(target)
    raise AssertionError("a strongly connected component always has a cycle through each node")


def _describe_cycle(cycle: list[str]) -> str:
    shown = [shorten(node_id, MAX_NODE_ID_CHARS) for node_id in cycle[:_CYCLE_IDS_SHOWN]]
    if len(cycle) > _CYCLE_IDS_SHOWN:
        shown.append(f"… ({len(cycle) - _CYCLE_IDS_SHOWN} more nodes)")
    return " -> ".join([*shown, shown[0]])


# ---------------------------------------------------------------- graph helpers


def _node_id_list(definition: Mapping[str, Any]) -> list[str]:
    return [node["id"] for node in definition["nodes"]]


def _edge_list(definition: Mapping[str, Any]) -> list[Edge]:
    return [(edge["from"], edge["to"]) for edge in definition.get("edges", [])]


def topological_order(definition: Mapping[str, Any]) -> list[str]:
    """Node ids so that every edge points forward; among ready nodes, earlier in `nodes` first.

    Only for valid definitions; raises ValueError on a cycle.
    """
    node_ids = _node_id_list(definition)
    position = {node_id: index for index, node_id in enumerate(node_ids)}
    successors = _successors(node_ids, _edge_list(definition))
    waiting = dict.fromkeys(node_ids, 0)
    for targets in successors.values():
        for target in targets:
            waiting[target] += 1
    ready = [position[node_id] for node_id in node_ids if waiting[node_id] == 0]
    order: list[str] = []
    while ready:
        node_id = node_ids[heapq.heappop(ready)]
        order.append(node_id)
        for target in successors[node_id]:
            waiting[target] -= 1
            if waiting[target] == 0:
                heapq.heappush(ready, position[target])
    if len(order) != len(node_ids):
        raise ValueError("the definition has a cycle")
    return order


def predecessors(definition: Mapping[str, Any]) -> dict[str, list[str]]:
    """Each node id (in node order) mapped to its predecessors' ids, in node order.

    Node order (not edge order) so that merging predecessors' outputs is predictable: when two
    predecessors set the same key, the one later in `nodes` wins.
    """
    node_ids = _node_id_list(definition)
    position = {node_id: index for index, node_id in enumerate(node_ids)}
    sources: dict[str, set[str]] = {node_id: set() for node_id in node_ids}
    for source, target in _edge_list(definition):
        sources[target].add(source)
    return {node_id: sorted(sources[node_id], key=position.__getitem__) for node_id in node_ids}


def sinks(definition: Mapping[str, Any]) -> list[str]:
    """Ids of the nodes with no successors, in node order."""
    has_successor = {source for source, _ in _edge_list(definition)}
    return [node_id for node_id in _node_id_list(definition) if node_id not in has_successor]
