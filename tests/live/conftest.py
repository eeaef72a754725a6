"""Live status across server processes, on PostgreSQL, over each wake-up transport."""

from __future__ import annotations

import pytest

from tenantflow.settings import Settings
from tests.api.conftest import gql, members  # noqa: F401  (shared fixtures)
from tests.redis_helpers import REDIS_URL

TRANSPORTS = ["listen-notify", "redis"]


@pytest.fixture
def backend() -> str:
    """Only PostgreSQL has several processes (the embedded default serves one)."""
    return "postgresql"


@pytest.fixture(params=TRANSPORTS)
def transport(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture
def deployed(settings: Settings, transport: str, request: pytest.FixtureRequest) -> Settings:
    """The settings every process of the deployment shares: Redis (a namespace of the test's
    own) for the redis transport, none for LISTEN/NOTIFY."""
    if transport == "redis":
        prefix: str = request.getfixturevalue("redis_prefix")
        return settings.model_copy(update={"redis_url": REDIS_URL, "redis_key_prefix": prefix})
    return settings


def environment(settings: Settings, **overrides: str) -> dict[str, str]:
    """`settings` as the TENANTFLOW_* variables of a server process."""
    values = {
        "TENANTFLOW_DATABASE_URL": settings.database_url,
        "TENANTFLOW_MIGRATION_DATABASE_URL": settings.migration_database_url or "",
        "TENANTFLOW_DATABASE_ROLE_PREFIX": settings.database_role_prefix,
        "TENANTFLOW_SECRET_KEY": settings.signing_key,
        "TENANTFLOW_ENCRYPTION_KEYS": ",".join(settings.master_keys),
        "TENANTFLOW_RATE_LIMITS": "off",
    }
    if settings.redis_url is not None:
        values["TENANTFLOW_REDIS_URL"] = settings.redis_url
        values["TENANTFLOW_REDIS_KEY_PREFIX"] = settings.redis_key_prefix
    return {**values, **overrides}
