"""Commands for retention and keys: tenantflow purge, tenantflow rewrap-keys.

Both run on the owner connection (TENANTFLOW_MIGRATION_DATABASE_URL; on SQLite the same file as the
runtime): the runtime role may neither purge nor see every tenant's data key.
"""

from __future__ import annotations

import argparse
import asyncio
from collections.abc import Awaitable, Callable
from typing import TypeVar

from sqlalchemy.ext.asyncio import AsyncEngine

from tenantflow.commands import CommandError, Commands, add_command
from tenantflow.db.engine import create_engine
from tenantflow.secrets.envelope import MasterKeyring
from tenantflow.services.operations.data_keys import RewrapReport, rewrap_all
from tenantflow.services.operations.maintenance import PurgeReport, Retention
from tenantflow.services.operations.maintenance import purge as purge_data
from tenantflow.settings import Settings

T = TypeVar("T")


def _on_owner_connection(settings: Settings, work: Callable[[AsyncEngine], Awaitable[T]]) -> T:
    async def run() -> T:
        engine = create_engine(settings.owner_database_url, pool_size=1)
        try:
            return await work(engine)
        finally:
            await engine.dispose()

    return asyncio.run(run())


def purge_report_lines(report: PurgeReport) -> list[str]:
    lines = [
        f"purged {len(report.tenants)} deleted tenant(s), deleted before"
        f" {report.tenants_deleted_before.isoformat()}, with all their data and data keys"
    ]
    lines += [f"  tenant {tenant_id}" for tenant_id in report.tenants]
    lines.append(
        f"removed {report.events} execution event(s) from before {report.events_before.isoformat()}"
    )
    lines.append(
        f"removed {report.executions} finished execution(s), finished before"
        f" {report.executions_finished_before.isoformat()}"
    )
    return lines


def purge(settings: Settings, _args: argparse.Namespace) -> None:
    retention = Retention(
        tenant_days=settings.tenant_retention_days,
        event_days=settings.event_retention_days,
        execution_days=settings.execution_retention_days,
    )
    report = _on_owner_connection(settings, lambda engine: purge_data(engine, retention))
    for line in purge_report_lines(report):
        print(line)


def rewrap_report_lines(report: RewrapReport, keyring: MasterKeyring) -> list[str]:
    lines = [
        f"rewrapped {len(report.rewrapped)} tenant data key(s) under master key"
        f" {keyring.current.key_id}",
        f"{len(report.already_current)} already wrapped by it",
    ]
    if report.unavailable:
        lines.append(
            f"{len(report.unavailable)} wrapped by a master key that is not configured"
            " (add it back to TENANTFLOW_ENCRYPTION_KEYS, after the new one, and run again):"
        )
        lines += [f"  tenant {tenant_id}" for tenant_id in report.unavailable]
    if report.failed:
        lines.append(f"{len(report.failed)} could not be opened (corrupted or tampered):")
        lines += [f"  tenant {tenant_id}" for tenant_id in report.failed]
    return lines


def rewrap_keys(settings: Settings, _args: argparse.Namespace) -> None:
    keyring = MasterKeyring(settings.master_keys)
    report = _on_owner_connection(settings, lambda engine: rewrap_all(engine, keyring))
    for line in rewrap_report_lines(report, keyring):
        print(line)
    if report.unavailable or report.failed:
        raise CommandError(
            "some data keys were not rewrapped: keep the older master keys until they are"
        )


def register(commands: Commands) -> None:
    """Add this module's subcommands; each sets `handler(settings, args)` as its default."""
    add_command(
        commands,
        "purge",
        "as the owner: purge deleted tenants past TENANTFLOW_TENANT_RETENTION_DAYS (data keys"
        " included), and events and executions past their retention",
        purge,
    )
    add_command(
        commands,
        "rewrap-keys",
        "re-wrap every tenant data key under the newest master key (the first of"
        " TENANTFLOW_ENCRYPTION_KEYS), so that older master keys can be retired",
        rewrap_keys,
    )
