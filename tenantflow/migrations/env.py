"""Alembic environment: async, run as the owner connection, PostgreSQL-only steps guarded by dialect."""

from __future__ import annotations

import asyncio

from alembic import context
from sqlalchemy.engine import Connection

from tenantflow.db import models  # noqa: F401  (registers every table on the metadata)
from tenantflow.db.base import metadata
from tenantflow.db.engine import create_engine
from tenantflow.db.migrate import migration_roles
from tenantflow.db.roles import refuse_shared_roles, revoke_login_members

config = context.config


def _configure(connection: Connection) -> None:
    context.configure(
        connection=connection,
        target_metadata=metadata,
        compare_type=True,
        # SQLite alters constraints only by copying the table.
        render_as_batch=connection.dialect.name == "sqlite",
        transaction_per_migration=False,
    )


def _run(connection: Connection) -> None:
    _configure(connection)
    postgresql = connection.dialect.name == "postgresql"
    with context.begin_transaction():
        if postgresql:
            # Before anything is granted: roles serving another database would be shared.
            refuse_shared_roles(connection, migration_roles())
        context.run_migrations()
        if postgresql:
            # Migrations join the system role to hand it functions; no login keeps that.
            revoke_login_members(connection, migration_roles())


async def _run_async(url: str) -> None:
    engine = create_engine(url, pool_size=1)
    try:
        async with engine.connect() as connection:
            await connection.run_sync(_run)
            await connection.commit()
    finally:
        await engine.dispose()


def run_migrations_online() -> None:
    # Tests and `tenantflow migrate` may hand over an open (sync-facing) connection.
    connection = config.attributes.get("connection")
    if connection is not None:
        _run(connection)
        return
    url = config.get_main_option("sqlalchemy.url")
    if not url:
        raise RuntimeError("no database URL: set sqlalchemy.url or pass a connection")
    asyncio.run(_run_async(url))


if context.is_offline_mode():
    raise RuntimeError("offline (SQL script) migrations are not supported")
run_migrations_online()
