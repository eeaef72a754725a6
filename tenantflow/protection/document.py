"""Query limits: what an operation may ask for, judged from its text before anything runs.

Two passes, both linear in the document:

1. `count_tokens` lexes the source with graphql-core's own lexer and stops at the first token
   over the limit, so a huge document is refused in milliseconds, before it is parsed. It also
   stops at brackets nested deeper than the parser's recursion could take.
2. `measure` walks the parsed operation once: depth (nested fields), aliases and directives per
   field (fragments counted where they are spread), and the static cost: a connection costs the
   page it asks for (`first`/`last`, variables' values when given, else the default page size),
   times the pages of the connections around it; every operation costs at least 1. A fragment
   is measured once and scaled where it is spread, so a document that spreads fragments into
   each other doubling every time is refused without being expanded.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Final

from graphql import (
    DocumentNode,
    FieldNode,
    FragmentDefinitionNode,
    FragmentSpreadNode,
    GraphQLError,
    GraphQLNamedType,
    GraphQLSchema,
    InlineFragmentNode,
    IntValueNode,
    OperationDefinitionNode,
    SelectionSetNode,
    VariableNode,
    get_named_type,
)
from graphql.language import Lexer, Source, TokenKind

from tenantflow.errors import ErrorCode, Refusal
from tenantflow.observability import metrics

DEFAULT_PAGE_SIZE: Final = 20  # the contract's default `first`
MAX_PAGE_SIZE: Final = 100  # more is refused by the connection itself
# Nesting of brackets the lexer lets through to the parser (which recurses once per level).
_MAX_NESTING_FACTOR: Final = 4
_OPENING = {TokenKind.BRACE_L, TokenKind.BRACKET_L, TokenKind.PAREN_L}
_CLOSING = {TokenKind.BRACE_R, TokenKind.BRACKET_R, TokenKind.PAREN_R}
_INTROSPECTION_ROOTS = frozenset({"__schema", "__type"})


@dataclass(frozen=True)
class QueryLimits:
    """The limits of one operation (TENANTFLOW_MAX_QUERY_*)."""

    tokens: int = 5_000
    depth: int = 15
    aliases: int = 30
    directives: int = 5
    cost: int = 5_000


class QueryTooComplex(Refusal):
    def __init__(self, limit: str, maximum: int, found: int | None = None) -> None:
        detail = f" ({found} found)" if found is not None else ""
        super().__init__(
            f"The operation is over the {limit} limit of {maximum}{detail}",
            ErrorCode.QUERY_TOO_COMPLEX,
            limit=limit,
            max=maximum,
        )
        self.limit = limit
        metrics.QUERY_LIMIT_REFUSALS.labels(limit).inc()


def count_tokens(query: str, limits: QueryLimits) -> QueryTooComplex | None:
    """Refuse a document of more than `limits.tokens` tokens (comments included), or one whose
    brackets nest far deeper than any operation within the depth limit. Lexing errors are left
    to the parser, which reports them the usual way."""
    lexer = Lexer(Source(query))
    tokens = 0
    nesting = 0
    max_nesting = limits.depth * _MAX_NESTING_FACTOR
    try:
        token = lexer.advance()
        while token.kind is not TokenKind.EOF:
            tokens += 1 + _comments_before(token)
            if tokens > limits.tokens:
                return QueryTooComplex("tokens", limits.tokens)
            if token.kind in _OPENING:
                nesting += 1
                if nesting > max_nesting:
                    return QueryTooComplex("depth", limits.depth)
            elif token.kind in _CLOSING:
                nesting -= 1
            token = lexer.advance()
    except GraphQLError:
        return None
    return None


def _comments_before(token: Any) -> int:
    count = 0
    previous = token.prev
    while previous is not None and previous.kind is TokenKind.COMMENT:
        count += 1
        previous = previous.prev
    return count


@dataclass(frozen=True)
class Measure:
    """What an operation asks for: the deepest field, aliases, the most directives on one
    selection, and the static cost."""

    depth: int = 0
    aliases: int = 0
    directives: int = 0
    cost: int = 0

    def refusal(self, limits: QueryLimits) -> QueryTooComplex | None:
        for limit, found, maximum in (
            ("depth", self.depth, limits.depth),
            ("aliases", self.aliases, limits.aliases),
            ("directives", self.directives, limits.directives),
            ("cost", self.cost, limits.cost),
        ):
            if found > maximum:
                return QueryTooComplex(limit, maximum, found)
        return None


@dataclass(frozen=True)
class _Summary:
    """A selection set measured at a multiplier of 1 (costs scale with the multiplier)."""

    depth: int
    aliases: int
    directives: int
    cost: int


_EMPTY = _Summary(0, 0, 0, 0)


class _Walker:
    def __init__(
        self,
        schema: GraphQLSchema,
        fragments: Mapping[str, FragmentDefinitionNode],
        variables: Mapping[str, Any],
        limits: QueryLimits,
    ) -> None:
        self.schema = schema
        self.fragments = fragments
        self.variables = variables
        self.limits = limits
        self.summaries: dict[str, _Summary] = {}
        self.in_progress: set[str] = set()
        # Fragment spreads inside fragments recurse here: bounded like field nesting.
        self.max_nesting = limits.depth * _MAX_NESTING_FACTOR
        self.nesting = 0

    def selection_set(
        self, selections: SelectionSetNode | None, parent: GraphQLNamedType | None
    ) -> _Summary:
        if selections is None:
            return _EMPTY
        self.nesting += 1
        if self.nesting > self.max_nesting:
            raise QueryTooComplex("depth", self.limits.depth)
        try:
            parts = [self._selection(selection, parent) for selection in selections.selections]
        finally:
            self.nesting -= 1
        return _Summary(
            depth=max((part.depth for part in parts), default=0),
            aliases=sum(part.aliases for part in parts),
            directives=max((part.directives for part in parts), default=0),
            cost=sum(part.cost for part in parts),
        )

    def _selection(self, selection: Any, parent: GraphQLNamedType | None) -> _Summary:
        own_directives = len(selection.directives or ())
        if isinstance(selection, FieldNode):
            inner = self._field(selection, parent)
            # Introspection's depth is the schema's (GraphiQL's query nests ofType deeply);
            # it is bounded by the token and nesting limits like any other selection.
            depth = 1 if selection.name.value in _INTROSPECTION_ROOTS else inner.depth + 1
            return _Summary(
                depth=depth,
                aliases=inner.aliases + (1 if selection.alias else 0),
                directives=max(own_directives, inner.directives),
                cost=inner.cost,
            )
        if isinstance(selection, InlineFragmentNode):
            condition = (
                self.schema.get_type(selection.type_condition.name.value)
                if selection.type_condition
                else parent
            )
            inner = self.selection_set(selection.selection_set, condition)
        elif isinstance(selection, FragmentSpreadNode):
            inner = self._fragment(selection.name.value)
        else:
            return _EMPTY
        return _Summary(
            inner.depth, inner.aliases, max(own_directives, inner.directives), inner.cost
        )

    def _field(self, node: FieldNode, parent: GraphQLNamedType | None) -> _Summary:
        fields = getattr(parent, "fields", None) or {}
        definition = fields.get(node.name.value)
        field_type = get_named_type(definition.type) if definition is not None else None
        inner = self.selection_set(node.selection_set, field_type)
        if not _is_connection(field_type):
            return inner
        page = self._page_size(node)
        # The connection's own rows, and every row inside it once per row of this page.
        return _Summary(inner.depth, inner.aliases, inner.directives, page + page * inner.cost)

    def _fragment(self, name: str) -> _Summary:
        known = self.summaries.get(name)
        if known is not None:
            return known
        fragment = self.fragments.get(name)
        if fragment is None or name in self.in_progress:
            return _EMPTY  # unknown or cyclic: validation refuses it
        self.in_progress.add(name)
        try:
            condition = self.schema.get_type(fragment.type_condition.name.value)
            summary = self.selection_set(fragment.selection_set, condition)
        finally:
            self.in_progress.discard(name)
        self.summaries[name] = summary
        return summary

    def _page_size(self, node: FieldNode) -> int:
        sizes = [
            self._int_argument(argument.value)
            for argument in node.arguments or ()
            if argument.name.value in ("first", "last")
        ]
        given = [size for size in sizes if size is not None]
        size = max(given) if given else DEFAULT_PAGE_SIZE
        return min(max(size, 0), MAX_PAGE_SIZE)

    def _int_argument(self, value: Any) -> int | None:
        if isinstance(value, IntValueNode):
            return int(value.value)
        if isinstance(value, VariableNode):
            given = self.variables.get(value.name.value)
            return given if isinstance(given, int) and not isinstance(given, bool) else None
        return None


def _is_connection(named: GraphQLNamedType | None) -> bool:
    fields = getattr(named, "fields", None) or {}
    return "edges" in fields and "pageInfo" in fields


def measure(
    document: DocumentNode,
    schema: GraphQLSchema,
    *,
    operation_name: str | None,
    variables: Mapping[str, Any] | None,
    limits: QueryLimits,
) -> Measure:
    """The measure of the operation that would run (QueryTooComplex for runaway nesting)."""
    operations = [
        definition
        for definition in document.definitions
        if isinstance(definition, OperationDefinitionNode)
    ]
    chosen = _chosen(operations, operation_name)
    fragments = {
        definition.name.value: definition
        for definition in document.definitions
        if isinstance(definition, FragmentDefinitionNode)
    }
    measures: list[Measure] = []
    for operation in chosen:
        values = {**_variable_defaults(operation), **(variables or {})}
        walker = _Walker(schema, fragments, values, limits)
        root = schema.get_root_type(operation.operation)
        summary = walker.selection_set(operation.selection_set, root)
        measures.append(
            Measure(
                depth=summary.depth,
                aliases=summary.aliases,
                directives=max(summary.directives, len(operation.directives or ())),
                cost=max(1, summary.cost),
            )
        )
    if not measures:
        return Measure(cost=1)
    return Measure(
        depth=max(m.depth for m in measures),
        aliases=max(m.aliases for m in measures),
        directives=max(m.directives for m in measures),
        cost=max(m.cost for m in measures),
    )


def _chosen(
    operations: Sequence[OperationDefinitionNode], name: str | None
) -> Sequence[OperationDefinitionNode]:
    """The operation that would run; all of them when that is unclear (it will not run)."""
    if name is not None:
        named = [op for op in operations if op.name is not None and op.name.value == name]
        return named or operations
    return operations


def _variable_defaults(operation: OperationDefinitionNode) -> dict[str, Any]:
    defaults: dict[str, Any] = {}
    for definition in operation.variable_definitions or ():
        if isinstance(definition.default_value, IntValueNode):
            defaults[definition.variable.name.value] = int(definition.default_value.value)
    return defaults
