"""The operator's tenant controls: tenantflow tenant activate|suspend|set-plan SLUG [PLAN].

`activate` makes a tenant ACTIVE (ending a trial or a suspension), `suspend` makes it SUSPENDED
(reads and logins go on, changes are refused), `set-plan` sets any plan, ENTERPRISE included: the
one way to it. Each change is written to the tenant's audit trail as `tenant.update` by "operator".
They run on the runtime connection, with the same rules as the API.
"""

from __future__ import annotations

import argparse
import asyncio
from collections.abc import Awaitable, Callable

from tenantflow.cache.setup import invalidation_for_tools
from tenantflow.commands import CommandError, Commands, add_command
from tenantflow.db.engine import create_engine
from tenantflow.db.models import Tenant
from tenantflow.db.session import SessionFactory
from tenantflow.enums import Plan
from tenantflow.services.errors import NotFound
from tenantflow.services.tenants import lifecycle as tenants
from tenantflow.settings import Settings

Change = Callable[[SessionFactory], Awaitable[Tenant]]


def _run(settings: Settings, slug: str, change: Change) -> None:
    async def run() -> Tenant:
        engine = create_engine(settings.database_url, pool_size=1)
        try:
            async with invalidation_for_tools(settings) as on_committed:
                return await change(SessionFactory(engine, on_committed=on_committed))
        finally:
            await engine.dispose()

    try:
        tenant = asyncio.run(run())
    except NotFound:
        raise CommandError(f"no tenant with the slug {slug!r}") from None
    print(f"tenant {tenant.slug}: {tenant.status.value}, plan {tenant.plan.value}")


def activate(settings: Settings, args: argparse.Namespace) -> None:
    _run(settings, args.slug, lambda s: tenants.activate_tenant(sessions=s, slug=args.slug))


def suspend(settings: Settings, args: argparse.Namespace) -> None:
    _run(settings, args.slug, lambda s: tenants.suspend_tenant(sessions=s, slug=args.slug))


def set_plan(settings: Settings, args: argparse.Namespace) -> None:
    plan = Plan(args.plan)
    _run(settings, args.slug, lambda s: tenants.set_plan(sessions=s, slug=args.slug, plan=plan))


def register(commands: Commands) -> None:
    """Add this module's subcommands; each sets `handler(settings, args)` as its default."""
    tenant = add_command(
        commands, "tenant", "the operator's tenant controls: activate, suspend, set-plan"
    )
    actions = tenant.add_subparsers(dest="action", required=True, metavar="ACTION")
    slug_help = "the tenant's slug, e.g. acme"
    for name, handler, summary in (
        ("activate", activate, "make a tenant ACTIVE (ends a trial or a suspension)"),
        ("suspend", suspend, "make a tenant SUSPENDED: reads and logins only"),
    ):
        add_command(actions, name, summary, handler).add_argument("slug", help=slug_help)
    plan_parser = add_command(
        actions, "set-plan", "set a tenant's plan (ENTERPRISE included)", set_plan
    )
    plan_parser.add_argument("slug", help=slug_help)
    plan_parser.add_argument(
        "plan",
        choices=[plan.value for plan in Plan],
        type=str.upper,
        help="the new plan (any case)",
    )
