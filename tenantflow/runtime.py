"""The process-wide resources the lifespan owns, shared with every request through its state."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy.ext.asyncio import AsyncEngine

from tenantflow.db.session import SessionFactory
from tenantflow.settings import Settings


@dataclass
class Runtime:
    settings: Settings
    engine: AsyncEngine
    sessions: SessionFactory
    shutting_down: bool = False
