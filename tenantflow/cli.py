"""The `tenantflow` command: migrate, serve, seed-demo, and the commands of tenantflow/commands/."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import logging
import os
import sys
import tempfile
from collections.abc import Iterator, Sequence

from tenantflow.commands import (
    CommandError,
    add_command,
    isolation,
    keys,
    maintenance,
    schema,
    tenants,
)
from tenantflow.settings import Settings, SettingsError, load_settings

log = logging.getLogger("tenantflow")

DESCRIPTION = """\
tenantflow: the GraphQL API gateway of a multi-tenant workflow-automation platform.
Configuration comes from TENANTFLOW_* environment variables (see the README)."""
EXAMPLES = """\
examples:
  tenantflow migrate && tenantflow seed-demo      a database with demo tenants and their history
  tenantflow serve --port 8080                    serve http://127.0.0.1:8080/graphql
  tenantflow serve --host 0.0.0.0 --workers 4     several processes (PostgreSQL and Redis)
  tenantflow generate-keys >> .env                keys for TENANTFLOW_ENV=production
  tenantflow tenant set-plan acme ENTERPRISE      the operator's tenant controls
  tenantflow export-schema > schema.graphql       the served SDL
  tenantflow check-isolation --probe              audit tenant isolation (PostgreSQL)

`tenantflow COMMAND --help` describes each command and its options.
"""


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

    from tenantflow.web.websocket_guard import MAX_MESSAGE_BYTES

    if args.workers > 1 and settings.is_sqlite:
        raise CommandError("--workers above 1 needs PostgreSQL: SQLite serves one process only")
    if args.workers > 1 and not settings.redis_url:
        raise CommandError(
            "--workers above 1 needs TENANTFLOW_REDIS_URL: the budgets and the login throttle"
            " of several processes are shared there"
        )
    from tenantflow.preflight import StartupRefused, check_can_serve

    try:
        check_can_serve(settings)
    except StartupRefused as refused:
        raise CommandError(str(refused)) from None
    with _shared_metrics(args.workers):
        uvicorn.run(
            "tenantflow.app:create_app",
            factory=True,
            host=args.host,
            port=args.port,
            workers=args.workers,
            # X-Forwarded-For is trusted only from TENANTFLOW_TRUSTED_PROXIES
            proxy_headers=False,
            log_level="info",
            # One JSON line per request instead (observability/request_log.py).
            access_log=False,
            # Larger websocket messages close the socket with 1009.
            ws_max_size=MAX_MESSAGE_BYTES,
        )


@contextlib.contextmanager
def _shared_metrics(workers: int) -> Iterator[None]:
    """With several workers, a directory where each writes its metric samples, so that /metrics
    on any of them reports them all (prometheus-client's multiprocess mode); removed after."""
    from tenantflow.observability.metrics import MULTIPROCESS_DIR_VARIABLE

    if workers <= 1 or os.environ.get(MULTIPROCESS_DIR_VARIABLE):
        yield
        return
    with tempfile.TemporaryDirectory(prefix="tenantflow-metrics-") as directory:
        os.environ[MULTIPROCESS_DIR_VARIABLE] = directory  # the workers inherit it
        try:
            yield
        finally:
            del os.environ[MULTIPROCESS_DIR_VARIABLE]


def seed_demo(settings: Settings, _args: argparse.Namespace) -> None:
    from tenantflow.demo import seed

    for line in asyncio.run(seed(settings)):
        print(line)


def add_serve_options(parser: argparse.ArgumentParser) -> None:
    """--host and --port, as `serve` and main.py take them."""
    parser.add_argument(
        "--host", default="127.0.0.1", help="address to listen on (default: %(default)s)"
    )
    parser.add_argument(
        "--port", type=int, default=8000, help="port to listen on (default: %(default)s)"
    )


def parser() -> argparse.ArgumentParser:
    """The whole command line: every command and option carries a one-line help."""
    root = argparse.ArgumentParser(
        prog="tenantflow",
        description=DESCRIPTION,
        epilog=EXAMPLES,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    commands = root.add_subparsers(dest="command", required=True, metavar="COMMAND")
    add_command(
        commands,
        "migrate",
        "bring the database (the owner connection) to the newest schema",
        migrate,
    )
    serve_parser = add_command(commands, "serve", "serve the GraphQL API", serve)
    add_serve_options(serve_parser)
    serve_parser.add_argument(
        "--workers",
        type=int,
        default=1,
        help="server processes (above 1 needs PostgreSQL and TENANTFLOW_REDIS_URL;"
        " default: %(default)s)",
    )
    add_command(
        commands,
        "seed-demo",
        "demo tenants acme and globex with users, workflows, executions, deployments, modules,"
        " a provider key and their audit trail; running it again changes nothing",
        seed_demo,
    )
    for module in (tenants, maintenance, isolation, keys, schema):
        module.register(commands)
    return root


def main(argv: Sequence[str] | None = None) -> int:
    args = parser().parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")
    try:
        settings = load_settings() if getattr(args, "needs_settings", True) else None
        args.handler(settings, args)
    except (CommandError, SettingsError) as error:
        print(f"tenantflow {args.command}: {error}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
