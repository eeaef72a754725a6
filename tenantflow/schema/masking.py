"""Errors as the client sees them, decided in one place.

- A `Refusal` (from any layer) becomes the GraphQL error it describes: its message, its code.
- A database that cannot serve (`db.faults.is_unavailable`: pool wait, timeouts, an outage) is not
  a bug: SERVICE_UNAVAILABLE with `retryAfter`, and one log line.
- Anything else unexpected reaches the client as a fixed message and INTERNAL_SERVER_ERROR; the log
  gets the original with its traceback and request id.
GraphQL's own errors (parse, validation, permission classes) pass as they are.
"""

from __future__ import annotations

import logging

import strawberry
from graphql import GraphQLError
from strawberry.extensions import MaskErrors
from strawberry.types import ExecutionContext

from tenantflow.db.faults import describe, is_unavailable
from tenantflow.errors import ErrorCode, Refusal, ServiceUnavailable

log = logging.getLogger("tenantflow.errors")
INTERNAL_MESSAGE = "Internal server error"


def public_error(refusal: Refusal, at: GraphQLError | None = None) -> GraphQLError:
    """The GraphQL error of a refusal, at the place of `at` (a resolver's error) if given."""
    return GraphQLError(
        refusal.message,
        nodes=at.nodes if at else None,
        path=at.path if at else None,
        extensions=refusal.extensions,
    )


def _original(error: GraphQLError) -> BaseException | None:
    original = error.original_error
    return None if original is None or isinstance(original, GraphQLError) else original


class MaskUnexpectedErrors(MaskErrors):
    """Passed to the schema as a class: MaskErrors keeps per-operation state on the instance."""

    def __init__(self) -> None:
        super().__init__(
            should_mask_error=lambda error: _original(error) is not None,
            error_message=INTERNAL_MESSAGE,
        )

    def anonymise_error(self, error: GraphQLError) -> GraphQLError:
        original = _original(error)
        if isinstance(original, Refusal):
            return public_error(original, error)
        if original is not None and is_unavailable(original):
            return public_error(ServiceUnavailable(), error)
        masked = super().anonymise_error(error)
        masked.extensions = {"code": ErrorCode.INTERNAL_SERVER_ERROR.value}
        return masked


class LoggingSchema(strawberry.Schema):
    """Logs what will be masked; refusals (UNAUTHENTICATED, a bad cursor, …) are the API working
    as designed, and an outage gets one line."""

    def process_errors(
        self, errors: list[GraphQLError], execution_context: ExecutionContext | None = None
    ) -> None:
        context = execution_context.context if execution_context else None
        request_id = getattr(context, "request_id", None)
        for error in errors:
            original = _original(error)
            if original is None or isinstance(original, Refusal):
                continue
            where = ".".join(str(part) for part in error.path or ()) or "operation"
            if is_unavailable(original):
                log.warning(
                    "database unavailable in %s (request %s): %s",
                    where,
                    request_id,
                    describe(original),
                )
            else:
                log.error(
                    "unexpected error in %s (request %s)", where, request_id, exc_info=original
                )
