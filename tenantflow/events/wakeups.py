"""What a wake-up says, and how a batch of them travels between processes.

A wake-up names a kind and, for most kinds, the tenant (or user) it is about, so that only that
tenant's subscribers look again. It carries no event: readers read the table.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from dataclasses import dataclass
from enum import StrEnum


class Kind(StrEnum):
    EVENTS = "e"  # the tenant has new execution events
    ACCESS = "a"  # access in the tenant may have been taken away (re-check its subscribers)
    USER = "u"  # a user's sessions may have ended (re-check that user's subscribers)
    WORK = "w"  # an execution may be claimable (idle executors claim)


@dataclass(frozen=True, slots=True)
class Wakeup:
    kind: Kind
    subject: uuid.UUID | None = None


def encode(origin: str, wakeups: Iterable[Wakeup]) -> str:
    """`origin;e:<uuid>;w` (well under PostgreSQL's 8,000-byte NOTIFY limit per batch)."""
    parts = [origin]
    for wakeup in wakeups:
        parts.append(wakeup.kind.value + (f":{wakeup.subject}" if wakeup.subject else ""))
    return ";".join(parts)


def decode(payload: str) -> tuple[str, list[Wakeup]]:
    """The origin and the wake-ups of a payload; parts that do not parse are left out."""
    origin, *parts = payload.split(";")
    wakeups = []
    for part in parts:
        kind, _, subject = part.partition(":")
        try:
            wakeups.append(Wakeup(Kind(kind), uuid.UUID(subject) if subject else None))
        except ValueError:
            continue
    return origin, wakeups
