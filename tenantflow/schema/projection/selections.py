"""An operation's selections as plain data: response key, field name, arguments, children.

Fragments are inlined (only where their type condition is the field's own type: the projected
types implement no interface a fragment could name instead), `@skip` and `@include` are
evaluated, and any other directive makes the operation unsupported (None): the general path
then serves it. Arguments are coerced by graphql-core as for the general path.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from graphql import (
    DocumentNode,
    FieldNode,
    FragmentDefinitionNode,
    FragmentSpreadNode,
    GraphQLField,
    GraphQLObjectType,
    GraphQLSchema,
    InlineFragmentNode,
    OperationDefinitionNode,
    SelectionNode,
    SelectionSetNode,
    get_named_type,
)
from graphql.execution.values import (
    VariableValues,
    get_argument_values,
    get_directive_values,
    get_variable_values,
)
from graphql.type import GraphQLIncludeDirective, GraphQLSkipDirective


@dataclass(frozen=True, slots=True)
class Selected:
    key: str  # the alias, or the field name
    name: str
    arguments: dict[str, Any]  # coerced, by GraphQL argument name
    children: tuple[Selected, ...]


class Unsupported(Exception):
    """The operation has something the projections do not handle."""


def selections(
    schema: GraphQLSchema,
    document: DocumentNode,
    operation: OperationDefinitionNode,
    inputs: dict[str, Any] | None,
) -> tuple[Selected, ...]:
    """The operation's root selections on the Query type; Unsupported when it cannot be read
    (variables that do not coerce included: the general path reports those)."""
    variables = get_variable_values(schema, operation.variable_definitions or (), inputs or {})
    if not isinstance(variables, VariableValues):
        raise Unsupported("variables that do not coerce")
    fragments = {
        definition.name.value: definition
        for definition in document.definitions
        if isinstance(definition, FragmentDefinitionNode)
    }
    query = schema.query_type
    if query is None:
        raise Unsupported("no query type")
    return _Reader(fragments, variables).read(operation.selection_set, query)


@dataclass
class _Reader:
    fragments: dict[str, FragmentDefinitionNode]
    variables: VariableValues

    def read(
        self, selection_set: SelectionSetNode, parent: GraphQLObjectType
    ) -> tuple[Selected, ...]:
        found: list[Selected] = []
        for node in self._fields(selection_set, parent.name):
            name = node.name.value
            if name == "__typename":
                found.append(Selected(_key(node), name, {}, ()))
                continue
            field: GraphQLField | None = parent.fields.get(name)
            if field is None:
                raise Unsupported(f"{parent.name}.{name}")
            children: tuple[Selected, ...] = ()
            if node.selection_set is not None:
                child_type = get_named_type(field.type)
                if not isinstance(child_type, GraphQLObjectType):
                    raise Unsupported(f"{parent.name}.{name} is not an object type")
                children = self.read(node.selection_set, child_type)
            arguments = get_argument_values(field, node, self.variables)
            found.append(Selected(_key(node), name, arguments, children))
        if len({selected.key for selected in found}) != len(found):
            raise Unsupported("a response key selected twice")  # merged fields: general path
        return tuple(found)

    def _fields(self, selection_set: SelectionSetNode, type_name: str) -> list[FieldNode]:
        fields: list[FieldNode] = []
        for selection in selection_set.selections:
            if not self._included(selection):
                continue
            if isinstance(selection, FieldNode):
                fields.append(selection)
            elif isinstance(selection, InlineFragmentNode):
                condition = selection.type_condition
                if condition is not None and condition.name.value != type_name:
                    raise Unsupported("a fragment on another type")
                fields.extend(self._fields(selection.selection_set, type_name))
            elif isinstance(selection, FragmentSpreadNode):
                fragment = self.fragments.get(selection.name.value)
                if fragment is None or fragment.type_condition.name.value != type_name:
                    raise Unsupported("a fragment on another type")
                fields.extend(self._fields(fragment.selection_set, type_name))
        return fields

    def _included(self, node: SelectionNode) -> bool:
        for directive in node.directives or ():
            if directive.name.value not in ("skip", "include"):
                raise Unsupported(f"directive @{directive.name.value}")
        skip = get_directive_values(GraphQLSkipDirective, node, self.variables)
        if skip is not None and skip.get("if") is True:
            return False
        include = get_directive_values(GraphQLIncludeDirective, node, self.variables)
        return not (include is not None and include.get("if") is False)


def _key(node: FieldNode) -> str:
    return node.alias.value if node.alias else node.name.value
