"""Shared fixtures: a fresh PostgreSQL deployment per run, a SQLite template, clean data per test.

PostgreSQL is set up the way production must be (tests/pg_deployments.py): a database and roles of
the run's own, migrations run as a non-superuser owner, the application connects as a login role
granted only `<prefix>_app`.
"""

from __future__ import annotations

import fcntl
import shutil
import tempfile
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from asgi_lifespan import LifespanManager
from starlette.types import ASGIApp

from tenantflow.app import build_app
from tenantflow.db import migrate
from tenantflow.db.engine import create_engine
from tenantflow.db.session import SessionFactory
from tenantflow.runtime import Runtime
from tenantflow.settings import Settings
from tests.pg_deployments import (
    PostgresDatabase,
    Wiper,
    create_deployment,
    drop_deployment,
    drop_stale_roles,
)
from tests.redis_helpers import redis_client, redis_prefix  # noqa: F401  (shared fixtures)


@pytest.fixture(scope="session")
async def postgres_database() -> AsyncIterator[PostgresDatabase]:
    await drop_stale_roles()
    database = await create_deployment()
    try:
        yield database
    finally:
        await drop_deployment(database)


@pytest.fixture(scope="session")
async def wiper(postgres_database: PostgresDatabase) -> AsyncIterator[Wiper]:
    wiper = Wiper(postgres_database)
    try:
        yield wiper
    finally:
        await wiper.close()


@pytest.fixture(scope="module")
def load_turn(testrun_uid: str) -> Iterator[None]:
    """The machine to this module's load tests alone: the soak and the fault tests each saturate
    the cores, and beside each other the faults' statements ran past their timeouts (503s).
    A file lock of the run's own; the other worker goes on with lighter tests, or waits here."""
    path = Path(tempfile.gettempdir()) / f"tenantflow-load-turn-{testrun_uid}.lock"
    with path.open("w") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("sqlite") / "template.db"
    migrate.upgrade(f"sqlite+aiosqlite:///{path}")
    return path


@pytest.fixture
def sqlite_url(sqlite_template: Path, tmp_path: Path) -> str:
    """A migrated database of this test's own: a copy of the template."""
    path = tmp_path / "tenantflow.db"
    shutil.copyfile(sqlite_template, path)
    return f"sqlite+aiosqlite:///{path}"


@pytest.fixture
async def clean_postgres(postgres_database: PostgresDatabase, wiper: Wiper) -> PostgresDatabase:
    await wiper.wipe()
    return postgres_database


def server_settings(
    database_url: str, migration_url: str, data_dir: Path, **overrides: Any
) -> Settings:
    """The settings every test server runs with, and `overrides`."""
    values: dict[str, Any] = {
        "database_url": database_url,
        "migration_database_url": migration_url,
        "data_dir": data_dir,
        "secret_key": "test-signing-key-" + "x" * 32,
        "encryption_keys": ["test-master-key-" + "y" * 32],
        # Executions stay where the test puts them; executor tests start one themselves.
        "executor_workers": 0,
        # Budgets are per minute and tests run faster than any client: the budget tests
        # (tests/protection/) turn them on. Query limits stay at their defaults everywhere.
        "rate_limits": "off",
        # One process starts hundreds of applications: nothing may be frozen out of collection.
        "tune_gc": False,
    }
    values.update(overrides)
    return Settings(**values)


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgresql)])
def backend(request: pytest.FixtureRequest) -> str:
    """Run the test once on the embedded default and once on PostgreSQL as the runtime role."""
    return str(request.param)


@pytest.fixture
def settings(backend: str, tmp_path: Path, request: pytest.FixtureRequest) -> Settings:
    """Settings for a clean, migrated database of the test's backend."""
    if backend == "postgresql":
        database: PostgresDatabase = request.getfixturevalue("clean_postgres")
        return server_settings(
            database.runtime_url,
            database.owner_url,
            tmp_path,
            database_role_prefix=database.roles.prefix,
        )
    url: str = request.getfixturevalue("sqlite_url")
    return server_settings(url, url, tmp_path)


@pytest.fixture
async def sessions(settings: Settings) -> AsyncIterator[SessionFactory]:
    engine = create_engine(settings.database_url, pool_size=2)
    try:
        yield SessionFactory(engine)
    finally:
        await engine.dispose()


@pytest.fixture
async def lifespan(settings: Settings) -> AsyncIterator[LifespanManager]:
    async with LifespanManager(build_app(settings)) as manager:
        yield manager


@pytest.fixture
def app(lifespan: LifespanManager) -> ASGIApp:
    """The whole application with its lifespan running."""
    return lifespan.app


@pytest.fixture
def runtime(lifespan: LifespanManager) -> Runtime:
    """The running application's process-wide resources (its lifespan state)."""
    return runtime_of(lifespan)


def runtime_of(manager: LifespanManager) -> Runtime:
    # asgi-lifespan keeps the state the lifespan yielded here (it has no public accessor).
    runtime: Runtime = manager._state["runtime"]
    return runtime


@pytest.fixture
async def client(app: ASGIApp) -> AsyncIterator[httpx.AsyncClient]:
    """An HTTP client for the application (websockets: tests/api/websocket.py)."""
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as http:
        yield http
