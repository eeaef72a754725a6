"""Operation documents for a root field: every argument a variable, a selection that shows what
came back (type names, ids and plain fields, a level deep), or, to harvest, ids deeper down."""

from __future__ import annotations

from graphql import (
    GraphQLInterfaceType,
    GraphQLObjectType,
    GraphQLOutputType,
    GraphQLSchema,
    GraphQLUnionType,
    get_named_type,
    is_leaf_type,
    is_list_type,
    is_non_null_type,
)

from tenantflow.isolation.probe.walk import RootField


def _fields(type_: GraphQLObjectType | GraphQLInterfaceType, depth: int, lists: bool) -> str:
    parts = ["__typename"]
    for name, field in type_.fields.items():
        if any(is_non_null_type(arg.type) for arg in field.args.values()):
            continue  # only fields that need no argument of ours
        named = get_named_type(field.type)
        if is_leaf_type(named):
            parts.append(name)
            continue
        if depth <= 1 or (not lists and _is_many(field.type)):
            continue
        inner = selection(field.type, depth - 1, lists=lists)
        if inner:
            parts.append(f"{name} {inner}")
    return "{ " + " ".join(parts) + " }"


def _is_many(type_: GraphQLOutputType) -> bool:
    inner = type_.of_type if is_non_null_type(type_) else type_
    return is_list_type(inner) or get_named_type(type_).name.endswith("Connection")


def selection(type_: GraphQLOutputType, depth: int, *, lists: bool = False) -> str:
    """What to select under a field of `type_`: '' for a leaf. `lists` goes into lists and
    connections too (for harvesting ids), at the cost of a bigger query."""
    named = get_named_type(type_)
    if is_leaf_type(named):
        return ""
    if isinstance(named, GraphQLUnionType):
        members = " ".join(
            f"... on {member.name} {_fields(member, depth, lists)}" for member in named.types
        )
        return "{ __typename " + members + " }"
    if isinstance(named, GraphQLInterfaceType):
        return _fields(named, depth, lists)
    assert isinstance(named, GraphQLObjectType)
    return _fields(named, depth, lists)


def document(
    field: RootField, schema: GraphQLSchema, *, depth: int = 2, lists: bool = False
) -> str:
    """`<kind> Probe($a: T, ...) { field(a: $a, ...) <selection> }`, every argument a variable
    (an unset optional variable leaves its argument out)."""
    del schema  # the field carries its types; kept for symmetry with the walkers
    arguments = field.field.args
    declared = ", ".join(f"${name}: {argument.type}" for name, argument in arguments.items())
    passed = ", ".join(f"{name}: ${name}" for name in arguments)
    head = f"{field.kind} Probe({declared})" if declared else f"{field.kind} Probe"
    call = f"{field.name}({passed})" if passed else field.name
    return f"{head} {{ {call} {selection(field.field.type, depth, lists=lists)} }}"
