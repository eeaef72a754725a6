"""Every root field of the served schema, with a value for each required argument and the places
(slots) where an ID or a String can go, read from the schema itself."""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Literal

from graphql import (
    GraphQLEnumType,
    GraphQLField,
    GraphQLInputObjectType,
    GraphQLInputType,
    GraphQLList,
    GraphQLNonNull,
    GraphQLObjectType,
    GraphQLSchema,
    get_named_type,
    is_list_type,
    is_non_null_type,
)

Kind = Literal["query", "mutation", "subscription"]
Path = tuple[str, ...]


@dataclass(frozen=True, slots=True)
class Slot:
    """One place of a root field's arguments where a value of `scalar` goes."""

    path: Path  # argument name, then input field names
    scalar: str  # ID or String
    is_list: bool
    type_hint: str | None  # the node type an ID names, when the name or the field tells it

    def label(self) -> str:
        return ".".join(self.path)


@dataclass(frozen=True, slots=True)
class RootField:
    kind: Kind
    name: str
    field: GraphQLField

    @property
    def title(self) -> str:
        return f"{self.kind} {self.name}"


def root_fields(schema: GraphQLSchema) -> list[RootField]:
    found: list[RootField] = []
    roots: list[tuple[Kind, GraphQLObjectType | None]] = [
        ("query", schema.query_type),
        ("mutation", schema.mutation_type),
        ("subscription", schema.subscription_type),
    ]
    for kind, root in roots:
        if root is not None:
            found += [RootField(kind, name, field) for name, field in root.fields.items()]
    return found


def node_types(schema: GraphQLSchema) -> list[str]:
    """Every object type that implements Node (what `node(id:)` can answer)."""
    node = schema.get_type("Node")
    return sorted(
        name
        for name, type_ in schema.type_map.items()
        if isinstance(type_, GraphQLObjectType) and any(i is node for i in type_.interfaces)
    )


def _hint(name: str, field: RootField, schema: GraphQLSchema) -> str | None:
    """`workflowId` names a Workflow; `id` of `workflow(id:)` the field's own type."""
    types = set(node_types(schema))
    stem = re.sub(r"Ids?$", "", name)
    candidate = stem[:1].upper() + stem[1:]
    if candidate in types:
        return candidate
    returned = get_named_type(field.field.type).name
    return returned if name in ("id", "ids") and returned in types else None


def slots(field: RootField, schema: GraphQLSchema, scalars: tuple[str, ...]) -> list[Slot]:
    """Every slot of `scalars` in the field's arguments, nested inputs included."""
    found: list[Slot] = []

    def visit(path: Path, type_: GraphQLInputType, depth: int) -> None:
        named = get_named_type(type_)
        if isinstance(named, GraphQLInputObjectType):
            if depth < 4:
                for name, inner in named.fields.items():
                    visit((*path, name), inner.type, depth + 1)
            return
        if named.name in scalars:
            inner = type_.of_type if is_non_null_type(type_) else type_
            hint = _hint(path[-1], field, schema) if named.name == "ID" else None
            found.append(Slot(path, named.name, is_list_type(inner), hint))

    for name, argument in field.field.args.items():
        visit((name,), argument.type, 0)
    return found


def _string_for(name: str, unique: str) -> str:
    lowered = name.lower()
    if "email" in lowered:
        return f"probe-{unique}@example.test"
    if "url" in lowered:
        return "https://example.test/probe"
    if "slug" in lowered:
        return f"probe-{unique}"
    if "password" in lowered:
        return "probe password " + unique
    return f"probe {unique}"


def filled(type_: GraphQLInputType, name: str, unique: str) -> Any:
    """A plausible value of `type_` (required input fields only, recursively)."""
    if isinstance(type_, GraphQLNonNull):
        return filled(type_.of_type, name, unique)
    if isinstance(type_, GraphQLList):
        return [filled(type_.of_type, name, unique)]
    if isinstance(type_, GraphQLEnumType):
        return next(iter(type_.values))
    if isinstance(type_, GraphQLInputObjectType):
        return {
            field_name: filled(field.type, field_name, unique)
            for field_name, field in type_.fields.items()
            if is_non_null_type(field.type)
        }
    scalar = get_named_type(type_).name
    values: dict[str, Any] = {
        "Int": 1,
        "Float": 1.0,
        "Boolean": False,
        "DateTime": datetime.now(UTC).isoformat(),
        "JSON": {"nodes": [], "edges": []},
        "ID": "probe",
    }
    return values.get(scalar, _string_for(name, unique))


def required_arguments(field: RootField, unique: str) -> dict[str, Any]:
    return {
        name: filled(argument.type, name, unique)
        for name, argument in field.field.args.items()
        if is_non_null_type(argument.type)
    }


def with_value(base: dict[str, Any], slot: Slot, value: Any) -> dict[str, Any]:
    """`base` with `value` at the slot (a one-item list for a list slot); parents made as needed."""
    result = _copy(base)
    node = result
    for key in slot.path[:-1]:
        child = node.get(key)
        if not isinstance(child, dict):
            child = {}
            node[key] = child
        node = child
    node[slot.path[-1]] = [value] if slot.is_list else value
    return result


def _copy(value: dict[str, Any]) -> dict[str, Any]:
    return {k: _copy(v) if isinstance(v, dict) else v for k, v in value.items()}


def walked(schema: GraphQLSchema, scalars: tuple[str, ...]) -> Iterator[tuple[RootField, Slot]]:
    for field in root_fields(schema):
        for slot in slots(field, schema, scalars):
            yield field, slot
