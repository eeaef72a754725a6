"""Fault tests run on PostgreSQL and drive the API as the API tests do (same fixtures)."""

import pytest

from tests.api.conftest import gql, members

__all__ = ["gql", "members"]


@pytest.fixture
def backend() -> str:
    return "postgresql"


@pytest.fixture(scope="module", autouse=True)
def _alone(load_turn: None) -> None:
    """Never beside the soak (tests/conftest.py, load_turn)."""
