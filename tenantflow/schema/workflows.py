"""Workflows: reading, writing, import and export."""

from __future__ import annotations

import strawberry


@strawberry.type
class WorkflowQuery:
    pass


@strawberry.type
class WorkflowMutation:
    pass
