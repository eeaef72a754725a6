"""`tenantflow serve` refuses to start with one line that names the fix, never a traceback.

On main before these checks, a runtime role without its grant started anyway (then `/readyz` said
"database unavailable" and the executor logged a traceback per claim), and a short secret key ended
start-up with a raw traceback.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from sqlalchemy import text

from tests.pg_deployments import PostgresDatabase, admin_engine, create_deployment, drop_deployment

SECRET = "s" * 40
MASTER_KEY = "m" * 40


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def serve(tmp_path: Path, **env: str) -> subprocess.CompletedProcess[str]:
    """`tenantflow serve` with `env` (TENANTFLOW_ names); it must exit on its own."""
    variables = {
        **{k: v for k, v in os.environ.items() if not k.startswith("TENANTFLOW_")},
        "TENANTFLOW_DATA_DIR": str(tmp_path),
        "TENANTFLOW_SECRET_KEY": SECRET,
        "TENANTFLOW_ENCRYPTION_KEYS": MASTER_KEY,
        "TENANTFLOW_EXECUTOR_WORKERS": "0",
        **{f"TENANTFLOW_{name.upper()}": value for name, value in env.items()},
    }
    return subprocess.run(
        [sys.executable, "-m", "tenantflow.cli", "serve", "--port", str(_free_port())],
        env=variables,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def assert_refused_in_one_line(result: subprocess.CompletedProcess[str], *phrases: str) -> None:
    assert result.returncode == 2, result.stderr
    assert "Traceback" not in result.stderr, result.stderr
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert len(lines) == 1, result.stderr
    for phrase in phrases:
        assert phrase in lines[0], lines[0]


def test_a_short_secret_key_is_refused_with_how_to_make_one(tmp_path: Path) -> None:
    result = serve(tmp_path, secret_key="too-short")
    assert_refused_in_one_line(
        result, "TENANTFLOW_SECRET_KEY", "at least 32 bytes", "tenantflow generate-keys"
    )
    assert "too-short" not in result.stderr  # never echo a key


def test_invalid_settings_are_refused_naming_each_variable(tmp_path: Path) -> None:
    result = serve(tmp_path, database_pool_size="0", lock_timeout="soon")
    assert_refused_in_one_line(result, "TENANTFLOW_DATABASE_POOL_SIZE", "TENANTFLOW_LOCK_TIMEOUT")


def test_a_bad_master_key_is_refused(tmp_path: Path) -> None:
    result = serve(tmp_path, encryption_keys="short")
    assert_refused_in_one_line(result, "master key is too short")


@pytest.mark.postgresql
def test_a_database_that_does_not_answer_is_refused_quickly(tmp_path: Path) -> None:
    url = f"postgresql+asyncpg://nobody@127.0.0.1:{_free_port()}/nothing"
    result = serve(tmp_path, database_url=url, migration_database_url=url)
    assert_refused_in_one_line(result, "does not answer", "TENANTFLOW_DATABASE_URL")


@pytest.fixture
async def ungranted() -> AsyncIterator[PostgresDatabase]:
    """A migrated deployment whose runtime login was never granted `<prefix>_app`."""
    database = await create_deployment(grant_app=False)
    try:
        yield database
    finally:
        await drop_deployment(database)


def _pg_env(database: PostgresDatabase) -> dict[str, str]:
    return {
        "database_url": database.runtime_url,
        "migration_database_url": database.owner_url,
        "database_role_prefix": database.roles.prefix,
    }


@pytest.mark.postgresql
def test_a_runtime_role_without_its_grant_is_refused(
    ungranted: PostgresDatabase, tmp_path: Path
) -> None:
    result = serve(tmp_path, **_pg_env(ungranted))
    app, runtime = ungranted.roles.app, ungranted.runtime_role
    assert_refused_in_one_line(result, f"GRANT {app} TO {runtime}")


@pytest.mark.postgresql
async def test_a_privilege_taken_from_the_app_role_is_refused(
    postgres_database: PostgresDatabase, tmp_path: Path
) -> None:
    database = await create_deployment()
    admin = admin_engine(database.name)
    try:
        async with admin.connect() as connection:
            await connection.execute(text(f"REVOKE INSERT ON audit_logs FROM {database.roles.app}"))
        result = serve(tmp_path, **_pg_env(database))
        assert_refused_in_one_line(result, "lacks INSERT on audit_logs", database.roles.app)
    finally:
        await admin.dispose()
        await drop_deployment(database)
