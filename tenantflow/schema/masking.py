"""Unexpected errors reach the client as a fixed message and INTERNAL_SERVER_ERROR, and the log
gets the original with its traceback and request id; expected errors are answers, not log noise.

A database that cannot serve (`db.faults.is_unavailable`: pool wait, timeouts, an outage) is not a
bug: its errors become SERVICE_UNAVAILABLE with `retryAfter`, and the log gets one line for them.
"""

from __future__ import annotations

import logging

import strawberry
from graphql import GraphQLError
from strawberry.extensions import MaskErrors
from strawberry.types import ExecutionContext

from tenantflow.db.faults import describe, is_unavailable
from tenantflow.errors import ErrorCode, ServiceUnavailable, should_mask

log = logging.getLogger("tenantflow.errors")


def _unavailable(error: GraphQLError) -> bool:
    return error.original_error is not None and is_unavailable(error.original_error)


def _original(error: GraphQLError) -> BaseException:
    assert error.original_error is not None  # should_mask: only errors with an original
    return error.original_error


class MaskUnexpectedErrors(MaskErrors):
    """Passed to the schema as a class: MaskErrors keeps per-operation state on the instance."""

    def __init__(self) -> None:
        super().__init__(should_mask_error=should_mask, error_message="Internal server error")

    def anonymise_error(self, error: GraphQLError) -> GraphQLError:
        if _unavailable(error):
            public = ServiceUnavailable()
            return GraphQLError(
                public.message,
                nodes=error.nodes,
                path=error.path,
                extensions=public.extensions,
            )
        masked = super().anonymise_error(error)
        masked.extensions = {"code": ErrorCode.INTERNAL_SERVER_ERROR.value}
        return masked


class LoggingSchema(strawberry.Schema):
    """Logs the errors that will be masked; the rest (UNAUTHENTICATED, FORBIDDEN, a bad cursor,
    a validation error) are the API working as designed."""

    def process_errors(
        self, errors: list[GraphQLError], execution_context: ExecutionContext | None = None
    ) -> None:
        context = execution_context.context if execution_context else None
        request_id = getattr(context, "request_id", None)
        for error in errors:
            if not should_mask(error):
                continue
            where = ".".join(str(part) for part in error.path or ()) or "operation"
            if _unavailable(error):
                log.warning(
                    "database unavailable in %s (request %s): %s",
                    where,
                    request_id,
                    describe(_original(error)),
                )
            else:
                log.error(
                    "unexpected error in %s (request %s)",
                    where,
                    request_id,
                    exc_info=error.original_error,
                )
