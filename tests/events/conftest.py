"""What the event tests share; each module brings its own `live` (with or without a transport)."""

from __future__ import annotations

import pytest

from tenantflow.db.session import SessionFactory
from tenantflow.events.wiring import LiveEvents


@pytest.fixture
def writer(sessions: SessionFactory, live: LiveEvents) -> SessionFactory:
    """Sessions whose commits announce to `live`'s broker, as the application's do."""
    return SessionFactory(sessions.engine, session_info=live.session_info)
