"""No "Did you mean …?" in errors where introspection is off: suggestions spell out the schema
that introspection would have shown (field, argument, type and enum value names).

graphql-core can leave them out (`hide_suggestions`), but Strawberry calls its validation and
execution without that option; the suggestion is one suffix that graphql-core's `did_you_mean`
writes, so it is cut off the message here, for HTTP and websocket answers alike (MaskErrors
processes both).
"""

from __future__ import annotations

import re

from graphql import GraphQLError
from strawberry.extensions import MaskErrors

_SUGGESTION = re.compile(r" Did you mean .*\?$", re.DOTALL)


def _suggests(error: GraphQLError) -> bool:
    return _SUGGESTION.search(error.message) is not None


class HideSuggestions(MaskErrors):
    """Passed to the schema as a class: MaskErrors keeps per-operation state on the instance."""

    def __init__(self) -> None:
        super().__init__(should_mask_error=_suggests)

    def anonymise_error(self, error: GraphQLError) -> GraphQLError:
        return GraphQLError(
            _SUGGESTION.sub("", error.message),
            nodes=error.nodes,
            source=error.source,
            positions=error.positions,
            path=error.path,
            original_error=error.original_error,
            extensions=error.extensions,
        )
