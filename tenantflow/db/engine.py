"""Async engines for the runtime and owner connections, with per-dialect connection setup."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import Any

from sqlalchemy import event
from sqlalchemy.engine.interfaces import DBAPIConnection
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine
from sqlalchemy.pool import ConnectionPoolEntry

from tenantflow.settings import Pooler, Settings

# Execution option marking a connection that will write (see SessionFactory).
WRITE_OPTION = "tenantflow_writes"
# The client gives a statement this much longer than the server's statement_timeout before it
# gives up on the server itself (a host that stopped answering never sends the timeout error).
CLIENT_GRACE_SECONDS = 2.0


@dataclass(frozen=True, slots=True)
class PoolOptions:
    size: int = 5
    # Seconds a checkout waits for a free connection (SQLAlchemy raises TimeoutError after).
    timeout: float = 30.0
    # Seconds for one statement on the client side, and for opening a connection; None: no bound.
    command_timeout: float | None = None
    pooler: Pooler = Pooler.NONE

    @classmethod
    def of(cls, settings: Settings) -> PoolOptions:
        return cls(
            size=settings.database_pool_size,
            timeout=settings.database_pool_timeout,
            command_timeout=settings.statement_timeout + CLIENT_GRACE_SECONDS,
            pooler=settings.database_pooler,
        )


def is_sqlite_url(url: str) -> bool:
    return url.startswith("sqlite")


def runtime_engine(settings: Settings) -> AsyncEngine:
    """The engine requests, the executor and subscriptions share: bounded in every way."""
    return create_engine(
        settings.database_url,
        pool=PoolOptions.of(settings),
        busy_timeout_seconds=settings.lock_timeout,
    )


def create_engine(
    url: str,
    *,
    pool_size: int | None = None,
    pool: PoolOptions | None = None,
    busy_timeout_seconds: float = 30.0,
    echo: bool = False,
) -> AsyncEngine:
    """An engine for `url`; `pool_size` alone is the short form for tools and tests."""
    options = pool or (PoolOptions(size=pool_size) if pool_size else PoolOptions())
    if is_sqlite_url(url):
        engine = create_async_engine(
            url,
            echo=echo,
            pool_size=options.size,
            max_overflow=0,
            pool_timeout=options.timeout,
            connect_args={"timeout": busy_timeout_seconds},
        )
        _configure_sqlite(engine, busy_timeout_seconds)
        return engine
    return create_async_engine(
        url,
        echo=echo,
        pool_size=options.size,
        max_overflow=0,
        pool_timeout=options.timeout,
        # No ping on every checkout (a round trip per request): a connection that died with its
        # server fails once, SQLAlchemy then invalidates the whole pool and the next use reconnects.
        pool_pre_ping=False,
        connect_args=_asyncpg_arguments(options),
    )


def _asyncpg_arguments(options: PoolOptions) -> dict[str, Any]:
    arguments: dict[str, Any] = {}
    if options.command_timeout is not None:
        arguments["command_timeout"] = options.command_timeout
        arguments["timeout"] = options.timeout  # connecting
    if options.pooler is Pooler.TRANSACTION:
        # pgbouncer hands each transaction to any server connection: a prepared statement kept
        # by name on one would be missing (or another's) on the next. No statement cache, and a
        # unique name for each statement SQLAlchemy prepares within its transaction.
        arguments["statement_cache_size"] = 0
        arguments["prepared_statement_cache_size"] = 0
        arguments["prepared_statement_name_func"] = _unique_statement_name
    return arguments


def _unique_statement_name() -> str:
    return f"__asyncpg_{uuid.uuid4().hex}__"


def _configure_sqlite(engine: AsyncEngine, busy_timeout_seconds: float) -> None:
    sync_engine = engine.sync_engine
    busy_timeout_ms = int(busy_timeout_seconds * 1000)

    @event.listens_for(sync_engine, "connect")
    def _on_connect(dbapi_connection: DBAPIConnection, _record: ConnectionPoolEntry) -> None:
        # pysqlite's own transaction handling is switched off so that "begin" below decides.
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        # SQLite enforces foreign keys only when asked, on every connection.
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA journal_mode=WAL")
        # How long a writer waits for the write lock: the lock timeout of the embedded default.
        cursor.execute(f"PRAGMA busy_timeout={busy_timeout_ms}")
        cursor.close()

    @event.listens_for(sync_engine, "begin")
    def _on_begin(connection: Any) -> None:
        # Writers take the write lock up front (IMMEDIATE): read-then-write transactions (quotas,
        # counters) serialise instead of failing with "database is locked" on upgrade. Readers
        # begin DEFERRED and run alongside them (WAL).
        writes = connection.get_execution_options().get(WRITE_OPTION, False)
        connection.exec_driver_sql("BEGIN IMMEDIATE" if writes else "BEGIN")
