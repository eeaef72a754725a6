"""tenantflow check-isolation [--probe]: audit a deployment's tenant isolation.

The lint reads the catalogs over the owner connection (TENANTFLOW_MIGRATION_DATABASE_URL) and asks
the runtime connection (TENANTFLOW_DATABASE_URL) only who it is; the probe serves the application
in-process on the same settings and drives it as two scratch tenants would.
"""

from __future__ import annotations

import argparse
import asyncio
import logging

from tenantflow.commands import CommandError, Commands, add_command
from tenantflow.db.engine import create_engine
from tenantflow.isolation.findings import Finding
from tenantflow.isolation.lint import CHECKS, lint, runtime_role_of
from tenantflow.settings import Settings


async def _lint(settings: Settings) -> list[Finding]:
    owner = create_engine(settings.owner_database_url, pool_size=1)
    runtime = create_engine(settings.database_url, pool_size=1)
    try:
        role = await runtime_role_of(runtime)
        return await lint(owner, role, settings.database_roles)
    finally:
        await owner.dispose()
        await runtime.dispose()


async def _probe(settings: Settings) -> list[Finding]:
    from tenantflow.isolation.probe.run import probe

    # Hundreds of in-process requests: their log lines would bury the report.
    for name in ("httpx", "tenantflow.requests"):
        logging.getLogger(name).setLevel(logging.WARNING)
    return await probe(settings, report=print)


def check_isolation(settings: Settings, args: argparse.Namespace) -> None:
    findings: list[Finding] = []
    if settings.is_sqlite:
        print("lint: skipped: SQLite has no roles nor row level security (the application's")
        print("      tenant-scoped session is the only layer there; --probe tests it)")
    else:
        findings += asyncio.run(_lint(settings))
        checked = ", ".join(CHECKS)
        print(f"lint ({checked}): {len(findings)} finding(s)")
    if args.probe:
        findings += asyncio.run(_probe(settings))
    for finding in findings:
        for line in finding.lines():
            print(line)
    if findings:
        raise CommandError(f"{len(findings)} isolation finding(s); each is printed with its fix")
    print("tenant isolation: no findings")


def register(commands: Commands) -> None:
    """Add check-isolation; it sets `handler(settings, args)` as its default."""
    parser = add_command(
        commands,
        "check-isolation",
        "audit the deployment's tenant isolation: row level security and its policies, SECURITY"
        " DEFINER functions, roles and privileges, append-only audit, composite references; each"
        " finding is printed with its fix, and the exit status is non-zero on any",
        check_isolation,
    )
    parser.add_argument(
        "--probe",
        action="store_true",
        help="also sign up two scratch tenants, walk every query, node type, mutation and"
        " subscription of the served schema as one with the other's ids, report any answer"
        " that differs from a missing id's, then purge both tenants",
    )
