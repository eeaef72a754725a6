"""Executions and their steps: reading, running, cancelling."""

from __future__ import annotations

import strawberry


@strawberry.type
class ExecutionQuery:
    pass


@strawberry.type
class ExecutionMutation:
    pass
