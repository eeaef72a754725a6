"""What a feed hands its subscribers: each event with the read it came from.

The subscribers of one read share what they look up about its events (the executions a
subscription's selection names, say): it is looked up once for all of them, not once each.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, TypeVar

from tenantflow.db.models import ExecutionEvent
from tenantflow.db.session import TenantDb

T = TypeVar("T")


@dataclass(eq=False)
class FeedBatch:
    db: TenantDb  # the feed's (short reads in the tenant)
    events: list[ExecutionEvent]
    _shared: dict[str, Any] = field(default_factory=dict)

    def shared(self, key: str, make: Callable[[], T]) -> T:
        """The batch's one `make()` under `key` (a loader its subscribers share, say)."""
        if key not in self._shared:
            self._shared[key] = make()
        value: T = self._shared[key]
        return value


@dataclass(frozen=True, slots=True)
class FeedEvent:
    row: ExecutionEvent
    batch: FeedBatch | None = None  # None: read by the subscriber itself (its replay)
