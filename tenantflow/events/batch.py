"""What a feed hands its subscribers: each event with the read it came from.

The read brings the events' executions along, so that a subscription whose selection names its
event's execution costs no query of its own: one read serves every subscriber of the tenant. The
batch also keeps what each of its events came to for a selection (schema/shared_answers.py), so
that the subscribers asking the same thing execute it once.
"""

from __future__ import annotations

import uuid
from collections.abc import Hashable
from dataclasses import dataclass, field
from typing import Any

from tenantflow.db.models import Execution, ExecutionEvent


@dataclass(frozen=True, eq=False)
class FeedBatch:
    events: list[ExecutionEvent]
    # Without their large JSON columns (definition, input, output): as lists load them.
    executions: dict[uuid.UUID, Execution]
    # (event position, selection) -> the executed answer; lives as long as the batch.
    answers: dict[tuple[int, Hashable], Any] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class FeedEvent:
    row: ExecutionEvent
    batch: FeedBatch | None = None  # None: read by the subscriber itself (its replay)
