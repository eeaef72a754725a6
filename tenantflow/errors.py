"""Refusals: the failures a client is told about, with the contract's `extensions.code`.

Any layer may raise a `Refusal` (a bad cursor in the pagination helper, a throttled login in the
identity services, missing credentials in the context); the schema layer turns it into the GraphQL
error the client sees, in one place (`schema/masking.py`). Everything else that escapes a resolver
is masked. Expected failures of mutations are not refusals but union members
(`services/errors.py`).
"""

from __future__ import annotations

from enum import StrEnum
from typing import Any


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


class Refusal(Exception):
    """A request refused with a message meant for the client, safe to show as it is."""

    def __init__(self, message: str, code: ErrorCode, **extensions: Any) -> None:
        super().__init__(message)
        self.message = message
        self.code = code
        self.extensions: dict[str, Any] = {"code": code.value, **extensions}


def bad_input(message: str) -> Refusal:
    return Refusal(message, ErrorCode.BAD_USER_INPUT)


# What a client is told to wait before retrying when the database cannot serve (Retry-After).
UNAVAILABLE_RETRY_AFTER_SECONDS = 2
UNAVAILABLE_MESSAGE = "The service is temporarily unavailable; retry shortly"


class ServiceUnavailable(Refusal):
    """The database cannot serve now (pool wait, timeouts, outage): HTTP 503 with Retry-After."""

    def __init__(self) -> None:
        super().__init__(
            UNAVAILABLE_MESSAGE,
            ErrorCode.SERVICE_UNAVAILABLE,
            retryAfter=UNAVAILABLE_RETRY_AFTER_SECONDS,
        )
