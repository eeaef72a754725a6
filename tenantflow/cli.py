"""The `tenantflow` command: migrate, serve, seed-demo, and the commands of tenantflow/commands/."""

from __future__ import annotations

import argparse
import asyncio
import logging
import sys
from collections.abc import Sequence

from tenantflow.commands import CommandError, maintenance, schema, tenants
from tenantflow.settings import Settings, SettingsError, load_settings

log = logging.getLogger("tenantflow")


def migrate(settings: Settings, _args: argparse.Namespace) -> None:
    from tenantflow.db import migrate as migrations
    from tenantflow.db.roles import SharedRolesError

    try:
        migrations.upgrade(settings.owner_database_url, roles=settings.database_roles)
    except SharedRolesError as error:
        raise CommandError(str(error)) from None
    print(f"database at {migrations.head_revision()}")


def serve(settings: Settings, args: argparse.Namespace) -> None:
    import uvicorn

    if args.workers > 1 and settings.is_sqlite:
        raise CommandError("--workers above 1 needs PostgreSQL: SQLite serves one process only")
    if args.workers > 1 and not settings.redis_url:
        raise CommandError(
            "--workers above 1 needs TENANTFLOW_REDIS_URL: the cache, rate limits and events of"
            " several processes meet there"
        )
    from tenantflow.preflight import StartupRefused, check_can_serve

    try:
        check_can_serve(settings)
    except StartupRefused as refused:
        raise CommandError(str(refused)) from None
    uvicorn.run(
        "tenantflow.app:create_app",
        factory=True,
        host=args.host,
        port=args.port,
        workers=args.workers,
        proxy_headers=False,  # X-Forwarded-For is trusted only from TENANTFLOW_TRUSTED_PROXIES
        log_level="info",
    )


def seed_demo(settings: Settings, _args: argparse.Namespace) -> None:
    from tenantflow.demo import seed

    for line in asyncio.run(seed(settings)):
        print(line)


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="tenantflow", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True)
    commands.add_parser("migrate", help="bring the database to the newest schema").set_defaults(
        handler=migrate
    )
    serve_parser = commands.add_parser("serve", help="serve the GraphQL API")
    serve_parser.add_argument("--host", default="127.0.0.1")
    serve_parser.add_argument("--port", type=int, default=8000)
    serve_parser.add_argument("--workers", type=int, default=1)
    serve_parser.set_defaults(handler=serve)
    commands.add_parser(
        "seed-demo", help="demo tenants, users and workflows (prints the logins)"
    ).set_defaults(handler=seed_demo)
    for module in (tenants, maintenance, schema):
        module.register(commands)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")
    try:
        args.handler(load_settings(), args)
    except (CommandError, SettingsError) as error:
        print(f"tenantflow {args.command}: {error}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
