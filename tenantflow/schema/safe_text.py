"""Refuse NUL characters and unpaired surrogates in any string of an operation, before it runs.

Neither can be stored (PostgreSQL text has no NUL; UTF-8 has no lone surrogates) nor echoed, so
they are bad input wherever they appear: string literals of the document (JSON literals
included) and every string inside the variables, at any depth. Checked once, here, for HTTP and
websocket operations alike, instead of in every resolver.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

from graphql import GraphQLError, StringValueNode
from graphql.language import Visitor, visit
from strawberry.extensions import SchemaExtension

from tenantflow.errors import bad_input
from tenantflow.schema.masking import public_error

_UNSAFE = re.compile("[\x00\ud800-\udfff]")
_MESSAGE = "Strings may not contain a NUL character or an unpaired surrogate"


def _strings(value: Any) -> Iterator[str]:
    """Every string in a JSON value (keys included)."""
    pending = [value]
    while pending:
        item = pending.pop()
        if isinstance(item, str):
            yield item
        elif isinstance(item, dict):
            pending.extend(item.keys())
            pending.extend(item.values())
        elif isinstance(item, list):
            pending.extend(item)


class _Literals(Visitor):
    def __init__(self) -> None:
        super().__init__()
        self.unsafe: StringValueNode | None = None

    def enter_string_value(self, node: StringValueNode, *_args: Any) -> Any:
        if _UNSAFE.search(node.value):
            self.unsafe = node
            return self.BREAK
        return None


def unsafe_text_error(document: Any, variables: dict[str, Any] | None) -> GraphQLError | None:
    """The error for the first unsafe string of an operation, or None."""
    for name, value in (variables or {}).items():
        if any(_UNSAFE.search(text) for text in _strings(value)):
            return public_error(bad_input(f"{_MESSAGE} (variable ${name})"))
    if document is not None:
        literals = _Literals()
        visit(document, literals)
        if literals.unsafe is not None:
            return public_error(bad_input(f"{_MESSAGE} (a string literal)"))
    return None


class RefuseUnsafeText(SchemaExtension):
    """Runs as validation starts: a refusal is a request error, like a validation failure."""

    def on_validate(self) -> Iterator[None]:
        context = self.execution_context
        error = unsafe_text_error(context.graphql_document, context.variables)
        if error is not None:
            # Set before validation runs, so Strawberry answers with it and skips validation.
            context.pre_execution_errors = [*(context.pre_execution_errors or []), error]
        yield
