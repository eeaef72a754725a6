"""Shared fixtures: a fresh PostgreSQL database per run, a SQLite template, clean data per test.

PostgreSQL is set up the way production must be:
- the database and its tables belong to `tf_test_owner`, a login role that is not a superuser
  (CREATEROLE only, so that migrations can create `tenantflow_app`), and migrations run as it;
- the application connects as `tf_test_runtime`, a login role granted `tenantflow_app` only.
A superuser connection (TENANTFLOW_TEST_POSTGRES_URL) is used only to create those roles and the
database, and to wipe data between tests.
"""

from __future__ import annotations

import asyncio
import os
import shutil
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest
from asgi_lifespan import LifespanManager
from sqlalchemy import make_url, text
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine
from starlette.types import ASGIApp

from tenantflow.app import build_app
from tenantflow.db import migrate
from tenantflow.db.engine import create_engine
from tenantflow.db.session import SessionFactory
from tenantflow.settings import Settings

ADMIN_URL = os.environ.get(
    "TENANTFLOW_TEST_POSTGRES_URL", "postgresql+asyncpg://postgres@127.0.0.1:5432/postgres"
)
OWNER_ROLE = "tf_test_owner"
RUNTIME_ROLE = "tf_test_runtime"
# Tables whose rows are fixed by migrations and survive the wipe between tests.
REFERENCE_TABLES = {"modules", "alembic_version"}


@dataclass(frozen=True)
class PostgresDatabase:
    name: str
    admin_url: str
    owner_url: str
    runtime_url: str


def _url_for(base: str, *, user: str | None = None, database: str | None = None) -> str:
    url = make_url(base)
    if user is not None:
        url = url.set(username=user, password=None)
    if database is not None:
        url = url.set(database=database)
    return url.render_as_string(hide_password=False)


def _admin_engine(database: str | None = None) -> AsyncEngine:
    return create_async_engine(
        _url_for(ADMIN_URL, database=database), isolation_level="AUTOCOMMIT", pool_size=1
    )


async def _ensure_login_role(engine: AsyncEngine, role: str, options: str) -> None:
    async with engine.connect() as connection:
        exists = await connection.scalar(
            text("SELECT 1 FROM pg_roles WHERE rolname = :role"), {"role": role}
        )
        if not exists:
            await connection.execute(text(f'CREATE ROLE "{role}" LOGIN {options}'))


@pytest.fixture(scope="session")
async def postgres_database() -> AsyncIterator[PostgresDatabase]:
    name = f"tf_test_{uuid.uuid4().hex[:12]}"
    admin = _admin_engine()
    try:
        await _ensure_login_role(admin, OWNER_ROLE, "NOSUPERUSER CREATEROLE NOBYPASSRLS")
        await _ensure_login_role(admin, RUNTIME_ROLE, "NOSUPERUSER NOBYPASSRLS")
        async with admin.connect() as connection:
            await connection.execute(text(f'CREATE DATABASE "{name}" OWNER "{OWNER_ROLE}"'))
        database = PostgresDatabase(
            name=name,
            admin_url=_url_for(ADMIN_URL, database=name),
            owner_url=_url_for(ADMIN_URL, user=OWNER_ROLE, database=name),
            runtime_url=_url_for(ADMIN_URL, user=RUNTIME_ROLE, database=name),
        )
        # Alembic's env runs its own event loop: give it a thread.
        await asyncio.to_thread(migrate.upgrade, database.owner_url)
        async with admin.connect() as connection:
            await connection.execute(text(f'GRANT tenantflow_app TO "{RUNTIME_ROLE}"'))
        yield database
    finally:
        async with admin.connect() as connection:
            await connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        await admin.dispose()


async def wipe_postgres(database: PostgresDatabase) -> None:
    """Remove every row but the reference data; replica mode lets it past the audit triggers."""
    engine = _admin_engine(database.name)
    try:
        async with engine.connect() as connection:
            tables = (
                await connection.execute(
                    text("SELECT tablename FROM pg_tables WHERE schemaname = 'public'")
                )
            ).scalars()
            wiped = sorted(set(tables) - REFERENCE_TABLES)
            # This connection is disposed of right after, so a session-level SET is contained.
            await connection.execute(text("SET session_replication_role = replica"))
            await connection.execute(text(f"TRUNCATE {', '.join(wiped)} CASCADE"))
    finally:
        await engine.dispose()


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
async def clean_postgres(postgres_database: PostgresDatabase) -> PostgresDatabase:
    await wipe_postgres(postgres_database)
    return postgres_database


def _settings(database_url: str, migration_url: str, data_dir: Path) -> Settings:
    return Settings(
        database_url=database_url,
        migration_database_url=migration_url,
        data_dir=data_dir,
        secret_key="test-signing-key-" + "x" * 32,
        encryption_keys=["test-master-key-" + "y" * 32],
        # Executions stay where the test puts them; executor tests start one themselves.
        executor_workers=0,
    )


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgresql)])
def backend(request: pytest.FixtureRequest) -> str:
    """Run the test once on the embedded default and once on PostgreSQL as the runtime role."""
    return str(request.param)


@pytest.fixture
def settings(backend: str, tmp_path: Path, request: pytest.FixtureRequest) -> Settings:
    """Settings for a clean, migrated database of the test's backend."""
    if backend == "postgresql":
        database: PostgresDatabase = request.getfixturevalue("clean_postgres")
        return _settings(database.runtime_url, database.owner_url, tmp_path)
    url: str = request.getfixturevalue("sqlite_url")
    return _settings(url, url, tmp_path)


@pytest.fixture
async def sessions(settings: Settings) -> AsyncIterator[SessionFactory]:
    engine = create_engine(settings.database_url, pool_size=2)
    try:
        yield SessionFactory(engine)
    finally:
        await engine.dispose()


@pytest.fixture
async def app(settings: Settings) -> AsyncIterator[ASGIApp]:
    """The whole application with its lifespan running."""
    async with LifespanManager(build_app(settings)) as manager:
        yield manager.app


@pytest.fixture
async def client(app: ASGIApp) -> AsyncIterator[httpx.AsyncClient]:
    """An HTTP client for the application (websockets: tests/api/websocket.py)."""
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as http:
        yield http
