"""Errors a client may see as they are; everything else is masked before it leaves the server."""

from __future__ import annotations

from enum import StrEnum
from typing import Any

from graphql import GraphQLError


class ErrorCode(StrEnum):
    """The contract's `extensions.code` values."""

    UNAUTHENTICATED = "UNAUTHENTICATED"
    FORBIDDEN = "FORBIDDEN"
    BAD_USER_INPUT = "BAD_USER_INPUT"
    QUERY_TOO_COMPLEX = "QUERY_TOO_COMPLEX"
    RATE_LIMITED = "RATE_LIMITED"
    CURSOR_EXPIRED = "CURSOR_EXPIRED"
    SERVICE_UNAVAILABLE = "SERVICE_UNAVAILABLE"
    INTERNAL_SERVER_ERROR = "INTERNAL_SERVER_ERROR"


class PublicError(GraphQLError):
    """A GraphQL error whose message is meant for the client, with its `extensions.code`."""

    def __init__(self, message: str, code: ErrorCode, **extensions: Any) -> None:
        super().__init__(message, extensions={"code": code.value, **extensions})


def should_mask(error: GraphQLError) -> bool:
    """Mask errors raised by unexpected exceptions; keep GraphQL's own and our public ones."""
    original = error.original_error
    return original is not None and not isinstance(original, GraphQLError)


# What a client is told to wait before retrying when the database cannot serve (Retry-After).
UNAVAILABLE_RETRY_AFTER_SECONDS = 2
UNAVAILABLE_MESSAGE = "The service is temporarily unavailable; retry shortly"


class ServiceUnavailable(PublicError):
    """The database cannot serve now (pool wait, timeouts, outage): HTTP 503 with Retry-After."""

    def __init__(self) -> None:
        super().__init__(
            UNAVAILABLE_MESSAGE,
            ErrorCode.SERVICE_UNAVAILABLE,
            retryAfter=UNAVAILABLE_RETRY_AFTER_SECONDS,
        )
