"""Which database failures are the client's to retry, and which the server retries itself.

- A *conflict* (deadlock `40P01`, serialization failure `40001`) rolled the whole transaction back;
  running the transaction again is safe and usually succeeds: `retry_conflicts` does that a few
  times before giving up.
- *Unavailable* covers everything that says "the database cannot serve this now" rather than
  "this request is wrong": no connection free within the pool wait, a statement or lock wait past
  its timeout, the server unreachable, restarting or refusing connections, a conflict that kept
  coming back. Clients get SERVICE_UNAVAILABLE (HTTP 503 with Retry-After) for these.
"""

from __future__ import annotations

import asyncio
import functools
import logging
import random
import sqlite3
from collections.abc import Awaitable, Callable, Iterator
from typing import ParamSpec, TypeVar

from sqlalchemy import exc as sa_exc

log = logging.getLogger(__name__)

P = ParamSpec("P")
R = TypeVar("R")

CONFLICT_STATES = frozenset({"40P01", "40001"})
# SQLSTATEs that mean "not now": timeouts and lock waits (57014, 55P03), the server shutting
# down or starting (57P01-57P03), too many connections (53300), out of resources (53xxx), lost
# connections (08xxx). Conflicts count too once the retries are spent.
_UNAVAILABLE_STATES = frozenset({"57014", "55P03", "57P01", "57P02", "57P03", "53300", "53200"})
_UNAVAILABLE_CLASSES = ("08", "53", "58")
CONFLICT_ATTEMPTS = 4


def _chain(error: BaseException) -> Iterator[BaseException]:
    """The error, what it wraps (SQLAlchemy's `orig`) and what caused it."""
    seen: set[int] = set()
    pending: list[BaseException | None] = [error]
    while pending:
        current = pending.pop()
        if current is None or id(current) in seen:
            continue
        seen.add(id(current))
        yield current
        pending.extend((getattr(current, "orig", None), current.__cause__, current.__context__))


def sqlstate(error: BaseException) -> str | None:
    for item in _chain(error):
        state = getattr(item, "sqlstate", None) or getattr(item, "pgcode", None)
        if isinstance(state, str):
            return state
    return None


def is_conflict(error: BaseException) -> bool:
    return sqlstate(error) in CONFLICT_STATES


def is_unavailable(error: BaseException) -> bool:
    """True when `error` says the database cannot serve now (see the module docstring)."""
    state = sqlstate(error)
    if state is not None and (
        state in _UNAVAILABLE_STATES
        or state in CONFLICT_STATES
        or state.startswith(_UNAVAILABLE_CLASSES)
    ):
        return True
    for item in _chain(error):
        if isinstance(item, sa_exc.TimeoutError | TimeoutError | ConnectionError):
            return True  # pool wait, client-side statement or connect timeout, refused
        if isinstance(item, OSError) and not isinstance(item, FileNotFoundError):
            return True  # unreachable host, reset connection
        if isinstance(item, sa_exc.DBAPIError) and item.connection_invalidated:
            return True
        if isinstance(item, sqlite3.OperationalError) and "locked" in str(item):
            return True  # SQLite's busy timeout passed
    return False


def retry_conflicts(
    function: Callable[P, Awaitable[R]],
) -> Callable[P, Awaitable[R]]:
    """Run `function` (which owns its whole transaction) again when it fails on a conflict.

    Only for functions that do all their writing in one transaction: a retry runs all of it
    again, so nothing may have committed before the conflict.
    """

    @functools.wraps(function)
    async def retrying(*args: P.args, **kwargs: P.kwargs) -> R:
        for attempt in range(1, CONFLICT_ATTEMPTS + 1):
            try:
                return await function(*args, **kwargs)
            except sa_exc.DBAPIError as error:
                if not is_conflict(error) or attempt == CONFLICT_ATTEMPTS:
                    raise
                log.info(
                    "%s: %s, running it again (attempt %d)",
                    function.__qualname__,
                    sqlstate(error),
                    attempt + 1,
                )
                # Jitter, so that the two sides of a deadlock do not meet again at once.
                await asyncio.sleep(random.uniform(0.005, 0.03) * attempt)  # noqa: S311
        raise AssertionError("unreachable")

    return retrying


# Background work (the executor) waits out short outages: about 6 s over these attempts.
BACKGROUND_ATTEMPTS = 6
BACKGROUND_FIRST_DELAY = 0.2


def retry_transient(
    function: Callable[P, Awaitable[R]],
) -> Callable[P, Awaitable[R]]:
    """Like `retry_conflicts`, for background work that no client waits on: also waits out
    the database being unavailable, with growing pauses, before the fault reaches the caller."""

    @functools.wraps(function)
    async def retrying(*args: P.args, **kwargs: P.kwargs) -> R:
        delay = BACKGROUND_FIRST_DELAY
        for attempt in range(1, BACKGROUND_ATTEMPTS + 1):
            try:
                return await function(*args, **kwargs)
            except Exception as error:
                if not (is_conflict(error) or is_unavailable(error)):
                    raise
                if attempt == BACKGROUND_ATTEMPTS:
                    raise
                log.info("%s: %s, trying again", function.__qualname__, describe(error))
                await asyncio.sleep(delay * random.uniform(0.5, 1.0))  # noqa: S311
                delay *= 2
        raise AssertionError("unreachable")

    return retrying


def describe(error: BaseException) -> str:
    """A short, safe description of a fault for a log line (no SQL, no parameters)."""
    state = sqlstate(error)
    return f"{type(error).__name__} {state}" if state else type(error).__name__
