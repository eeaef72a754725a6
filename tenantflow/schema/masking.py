"""Unexpected errors reach the client as a fixed message and INTERNAL_SERVER_ERROR, and the log
gets the original with its traceback and request id; expected errors are answers, not log noise."""

from __future__ import annotations

import logging

import strawberry
from graphql import GraphQLError
from strawberry.extensions import MaskErrors
from strawberry.types import ExecutionContext

from tenantflow.errors import ErrorCode, should_mask

log = logging.getLogger("tenantflow.errors")


class MaskUnexpectedErrors(MaskErrors):
    """Passed to the schema as a class: MaskErrors keeps per-operation state on the instance."""

    def __init__(self) -> None:
        super().__init__(should_mask_error=should_mask, error_message="Internal server error")

    def anonymise_error(self, error: GraphQLError) -> GraphQLError:
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
            if should_mask(error):
                log.error(
                    "unexpected error in %s (request %s)",
                    ".".join(str(part) for part in error.path or ()) or "operation",
                    request_id,
                    exc_info=error.original_error,
                )
