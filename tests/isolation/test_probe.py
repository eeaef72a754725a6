"""check-isolation --probe: passes on a sound deployment, reports a planted leak, and leaves no
scratch tenant behind either way."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
from sqlalchemy import text

import tenantflow.app
from tenantflow.db import session as tenant_session
from tenantflow.db.models import Workflow
from tenantflow.isolation.probe.run import probe
from tenantflow.isolation.probe.walk import node_types
from tenantflow.schema import schema
from tenantflow.settings import Settings
from tests.conftest import server_settings
from tests.isolation.conftest import engine_for, run_sql
from tests.pg_deployments import PostgresDatabase

pytestmark = pytest.mark.postgresql


def settings_of(database: PostgresDatabase, data_dir: Path) -> Settings:
    return server_settings(
        database.runtime_url,
        database.owner_url,
        data_dir,
        database_role_prefix=database.roles.prefix,
        env="production",
    )


async def rows_left(database: PostgresDatabase) -> tuple[int, int]:
    async with engine_for(database.admin_url) as engine, engine.connect() as connection:
        tenants = await connection.scalar(text("SELECT count(*) FROM tenants"))
        users = await connection.scalar(text("SELECT count(*) FROM users"))
    return int(tenants or 0), int(users or 0)


@contextmanager
def without_tenant_criteria(model: type[object]) -> Iterator[None]:
    """A build in which the tenant-scoped session no longer filters `model` (its resolver's
    tenant filter removed)."""
    original = tenant_session._tenant_owned_classes
    kept = tuple(cls for cls in original() if cls is not model)
    tenant_session._tenant_criteria.cache_clear()
    tenant_session._tenant_owned_classes = lambda: kept  # type: ignore[assignment]
    try:
        yield
    finally:
        tenant_session._tenant_owned_classes = original
        tenant_session._tenant_criteria.cache_clear()


async def test_the_probe_passes_on_a_sound_deployment_and_purges_its_tenants(
    scratch: PostgresDatabase, tmp_path: Path
) -> None:
    lines: list[str] = []
    findings = await probe(settings_of(scratch, tmp_path), report=lines.append)
    assert findings == [], [f.lines() for f in findings]
    # every node type of the schema had an id of the other tenant to try
    harvested = lines[0].split("the other's ids by type: ")[1]
    assert {part.split()[0] for part in harvested.split(", ")} == set(node_types(schema._schema))
    assert "0 finding(s); scratch tenants purged" in lines[-1]
    assert await rows_left(scratch) == (0, 0)


async def _serve_anyway(*_args: object) -> None:
    """The test build's start-up check: none (the real one refuses a table without RLS)."""


async def test_the_probe_reports_a_resolver_without_its_tenant_filter_on_a_table_without_rls(
    scratch: PostgresDatabase, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(tenantflow.app, "ensure_safe_runtime_role", _serve_anyway)
    await run_sql(
        scratch.owner_url,
        "ALTER TABLE workflows NO FORCE ROW LEVEL SECURITY",
        "ALTER TABLE workflows DISABLE ROW LEVEL SECURITY",
    )
    with without_tenant_criteria(Workflow):
        findings = await probe(settings_of(scratch, tmp_path), report=lambda _: None)
    subjects = [f.subject for f in findings]
    assert any(s.startswith("query workflow(id: Workflow ") for s in subjects), subjects
    assert any(s.startswith("query node(id: Workflow ") for s in subjects), subjects
    assert "query lists" in subjects  # A's workflows list shows B's
    assert all(f.check == "probe" and f.fix for f in findings)
    assert await rows_left(scratch) == (0, 0)


async def test_either_layer_alone_still_holds(
    scratch: PostgresDatabase, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(tenantflow.app, "ensure_safe_runtime_role", _serve_anyway)
    # RLS off but the session's filter in place: the application layer holds on its own.
    await run_sql(scratch.owner_url, "ALTER TABLE workflows DISABLE ROW LEVEL SECURITY")
    assert await probe(settings_of(scratch, tmp_path), report=lambda _: None) == []
