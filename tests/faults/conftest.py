"""Fault tests run on PostgreSQL and drive the API as the API tests do (same fixtures)."""

import pytest

from tests.api.conftest import gql, members

__all__ = ["gql", "members"]


@pytest.fixture
def backend() -> str:
    return "postgresql"
