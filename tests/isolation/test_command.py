"""`tenantflow check-isolation` as an operator runs it: the settings' URLs, findings with their
fixes on stdout, and the exit status."""

from __future__ import annotations

import asyncio

import pytest

from tenantflow import cli
from tests.isolation.conftest import run_sql
from tests.pg_deployments import PostgresDatabase

pytestmark = pytest.mark.postgresql


@pytest.fixture
def deployment_env(scratch: PostgresDatabase, monkeypatch: pytest.MonkeyPatch) -> PostgresDatabase:
    monkeypatch.setenv("TENANTFLOW_DATABASE_URL", scratch.runtime_url)
    monkeypatch.setenv("TENANTFLOW_MIGRATION_DATABASE_URL", scratch.owner_url)
    monkeypatch.setenv("TENANTFLOW_DATABASE_ROLE_PREFIX", scratch.roles.prefix)
    return scratch


def test_a_sound_deployment_exits_0(
    deployment_env: PostgresDatabase, capsys: pytest.CaptureFixture[str]
) -> None:
    assert cli.main(["check-isolation"]) == 0
    out = capsys.readouterr().out
    assert "lint (tables, functions, roles, audit, references): 0 finding(s)" in out
    assert "tenant isolation: no findings" in out


def test_each_finding_is_printed_with_its_fix_and_the_exit_status_is_not_0(
    deployment_env: PostgresDatabase, capsys: pytest.CaptureFixture[str]
) -> None:
    asyncio.run(
        run_sql(
            deployment_env.owner_url,
            "ALTER TABLE executions NO FORCE ROW LEVEL SECURITY",
            "CREATE POLICY peek ON workflows USING (true)",
        )
    )
    assert cli.main(["check-isolation"]) != 0
    captured = capsys.readouterr()
    assert "FAIL tables: executions: row level security is not forced" in captured.out
    assert "fix: ALTER TABLE executions FORCE ROW LEVEL SECURITY" in captured.out
    assert "FAIL tables: workflows.peek" in captured.out
    assert "fix: DROP POLICY peek ON workflows" in captured.out
    assert "2 isolation finding(s)" in captured.err


def test_on_sqlite_the_lint_says_why_it_does_not_apply(
    sqlite_url: str, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("TENANTFLOW_DATABASE_URL", sqlite_url)
    assert cli.main(["check-isolation"]) == 0
    assert "lint: skipped: SQLite has no roles nor row level security" in capsys.readouterr().out
