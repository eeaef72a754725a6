"""The tenant-scoped session: the one place where a request's tenant reaches the database.

Every transaction of a scoped session
- sets `app.current_tenant_id` transaction-locally as its first statement (RLS keys on it), and in
  the same statement the runtime's statement, lock and idle-in-transaction timeouts (also
  transaction-local, so they hold behind pgbouncer in transaction mode too),
- filters every ORM SELECT, UPDATE and DELETE of a tenant-owned model by the tenant,
- stamps the tenant on every tenant-owned insert and refuses a row of another tenant.

A tenant's session outside any transaction (`tenant_statement`, PostgreSQL) sets nothing: each of
its statements is a transaction of its own and must set the tenant itself (tf_feed_events does);
one that does not sees no tenant's rows.

A session without a tenant (sign-up, login, operator commands) refuses tenant-owned models outright,
so forgetting to scope a session fails loudly instead of returning another tenant's rows.
"""

from __future__ import annotations

import asyncio
import logging
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable, Hashable, Iterable, Mapping
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from dataclasses import dataclass
from functools import lru_cache
from typing import Any, TypeVar

from sqlalchemy import event, text
from sqlalchemy.engine import Connection, Result
from sqlalchemy.ext.asyncio import AsyncEngine, async_sessionmaker
from sqlalchemy.ext.asyncio import AsyncSession as SQLAlchemyAsyncSession
from sqlalchemy.orm import ORMExecuteState, Session, SessionTransaction, with_loader_criteria
from sqlalchemy.sql.base import Executable
from sqlmodel.ext.asyncio.session import AsyncSession
from sqlmodel.main import default_registry

from tenantflow.db.base import TenantOwned
from tenantflow.db.changes import OnCommitted, committed
from tenantflow.db.engine import WRITE_OPTION
from tenantflow.settings import Settings

log = logging.getLogger(__name__)

TENANT_KEY = "tenant_id"
AFTER_COMMIT_KEY = "after_commit"
AWAITED_AFTER_COMMIT_KEY = "awaited_after_commit"
BEFORE_COMMIT_KEY = "before_commit"
TIMEOUTS_KEY = "timeouts"
SET_TENANT_SQL = text("SELECT set_config('app.current_tenant_id', :tenant_id, true)")
SET_TENANT_AND_TIMEOUTS_SQL = text(
    "SELECT set_config('app.current_tenant_id', :tenant_id, true),"
    " set_config('statement_timeout', :statement_timeout, true),"
    " set_config('lock_timeout', :lock_timeout, true),"
    " set_config('idle_in_transaction_session_timeout', :idle_timeout, true)"
)


@dataclass(frozen=True, slots=True)
class TransactionTimeouts:
    """Bounds on every runtime transaction, in seconds (see Settings)."""

    statement: float
    lock: float
    idle_in_transaction: float

    @classmethod
    def of(cls, settings: Settings) -> TransactionTimeouts:
        return cls(
            statement=settings.statement_timeout,
            lock=settings.lock_timeout,
            idle_in_transaction=settings.idle_in_transaction_timeout,
        )

    def parameters(self) -> dict[str, str]:
        def ms(seconds: float) -> str:
            return str(max(1, round(seconds * 1000)))

        return {
            "statement_timeout": ms(self.statement),
            "lock_timeout": ms(self.lock),
            "idle_timeout": ms(self.idle_in_transaction),
        }


class TenantScopeError(RuntimeError):
    """Code tried to touch tenant-owned rows without, or outside, its tenant."""


def session_tenant(session: Session | AsyncSession) -> uuid.UUID | None:
    value = session.info.get(TENANT_KEY)
    return value if isinstance(value, uuid.UUID) else None


def require_tenant(session: Session | AsyncSession) -> uuid.UUID:
    """The tenant of a scoped session; TenantScopeError for an unscoped one."""
    tenant_id = session_tenant(session)
    if tenant_id is None:
        raise TenantScopeError("this needs a tenant-scoped session")
    return tenant_id


def _touches_tenant_owned(state: ORMExecuteState) -> bool:
    return any(issubclass(mapper.class_, TenantOwned) for mapper in state.all_mappers)


@lru_cache(maxsize=1)
def _tenant_owned_classes() -> tuple[type[TenantOwned], ...]:
    """Every mapped tenant-owned class (known once all models are imported)."""
    return tuple(
        sorted(
            (
                mapper.class_
                for mapper in default_registry.mappers
                if issubclass(mapper.class_, TenantOwned)
            ),
            key=lambda cls: cls.__name__,
        )
    )


@event.listens_for(Session, "do_orm_execute")
def _scope_statement(state: ORMExecuteState) -> None:
    if not (state.is_select or state.is_update or state.is_delete):
        return
    if state.is_column_load or state.is_relationship_load:
        return  # the criteria propagate from the statement that loaded the parent
    tenant_id = session_tenant(state.session)
    if tenant_id is None and _touches_tenant_owned(state):
        raise TenantScopeError("tenant-owned rows need a tenant-scoped session")
    state.statement = state.statement.options(*_tenant_criteria(tenant_id))


@lru_cache(maxsize=4096)
def _tenant_criteria(tenant_id: uuid.UUID | None) -> tuple[Any, ...]:
    """The criteria options of one tenant, built once: building them for 17 classes on every
    statement cost about 0.3 ms (a fifth of a by-id request)."""
    # Joined and sub-selected entities are not among the statement's top-level mappers, so the
    # criteria go on for every tenant-owned class; SQLAlchemy applies only those that occur.
    return tuple(
        with_loader_criteria(
            cls,
            (lambda c: c.tenant_id == tenant_id)
            if tenant_id is not None
            # Unscoped: a tenant table reached through a join or subquery yields nothing.
            else (lambda c: c.tenant_id.is_(None)),
            include_aliases=True,
        )
        for cls in _tenant_owned_classes()
    )


def _check_rows(session: Session, rows: Iterable[Any], tenant_id: uuid.UUID | None) -> None:
    for row in rows:
        if not isinstance(row, TenantOwned):
            continue
        if tenant_id is None:
            raise TenantScopeError("tenant-owned rows need a tenant-scoped session")
        if row.tenant_id is None:
            row.tenant_id = tenant_id
        elif row.tenant_id != tenant_id:
            raise TenantScopeError("a row of another tenant cannot be written in this session")


@event.listens_for(Session, "before_flush")
def _stamp_tenant(session: Session, _context: Any, _instances: Any) -> None:
    tenant_id = session_tenant(session)
    _check_rows(session, session.new, tenant_id)
    _check_rows(session, session.dirty, tenant_id)
    _check_rows(session, session.deleted, tenant_id)


def after_commit(
    session: Session | AsyncSession, callback: Callable[[], None], *, key: Hashable = None
) -> None:
    """Run `callback` once the transaction of `session` has committed (and the caches have
    forgotten what it changed); never if it rolls back. With a `key`, once per transaction
    however often it is asked for (one wake-up for a transaction that wrote many events)."""
    callbacks: dict[Hashable, Callable[[], None]] = session.info.setdefault(AFTER_COMMIT_KEY, {})
    callbacks.setdefault(key if key is not None else object(), callback)


AwaitedAfterCommit = TypeVar("AwaitedAfterCommit", bound=Callable[[], Awaitable[None]])


def awaited_after_commit(
    session: Session | AsyncSession, callback: AwaitedAfterCommit, *, key: Hashable
) -> AwaitedAfterCommit:
    """Await `callback()` once the transaction of `session` has committed, after the
    `after_commit` callbacks, before the writer goes on (never if it rolls back): for what must
    leave the process before the writer answers. Once per transaction per `key`; returns the
    callback registered under it (the first one asked for)."""
    callbacks: dict[Hashable, Any] = session.info.setdefault(AWAITED_AFTER_COMMIT_KEY, {})
    kept: AwaitedAfterCommit = callbacks.setdefault(key, callback)
    return kept


BeforeCommit = TypeVar("BeforeCommit", bound=Callable[[Session], None])


def before_commit(
    session: Session | AsyncSession, callback: BeforeCommit, *, key: Hashable
) -> BeforeCommit:
    """Run `callback(session)` as the last step of the transaction of `session`, before it
    commits: what it executes commits or rolls back with the rest. Once per transaction per
    `key`; returns the callback registered under it (the first one asked for)."""
    callbacks: dict[Hashable, Any] = session.info.setdefault(BEFORE_COMMIT_KEY, {})
    kept: BeforeCommit = callbacks.setdefault(key, callback)
    return kept


@event.listens_for(Session, "before_commit")
def _run_before_commit(session: Session) -> None:
    for callback in session.info.pop(BEFORE_COMMIT_KEY, {}).values():
        callback(session)


def _run_after_commit(session: Session) -> None:
    for callback in session.info.pop(AFTER_COMMIT_KEY, {}).values():
        try:
            callback()
        except Exception:  # the commit stands: a failed notice must not fail the writer
            log.exception("an after-commit callback failed")


async def _await_after_commit(session: Session) -> None:
    for callback in session.info.pop(AWAITED_AFTER_COMMIT_KEY, {}).values():
        try:
            await callback()
        except Exception:  # as above
            log.exception("an after-commit callback failed")


@event.listens_for(Session, "after_rollback")
def _forget_commit_callbacks(session: Session) -> None:
    session.info.pop(BEFORE_COMMIT_KEY, None)
    session.info.pop(AFTER_COMMIT_KEY, None)
    session.info.pop(AWAITED_AFTER_COMMIT_KEY, None)


@event.listens_for(Session, "after_begin")
def _set_database_tenant(session: Session, _tx: SessionTransaction, connection: Connection) -> None:
    if connection.dialect.name != "postgresql":
        return
    if connection.get_execution_options().get("isolation_level") == "AUTOCOMMIT":
        # Each statement commits by itself, so a transaction-local setting would end with its
        # own statement: what runs here sets its tenant itself (SessionFactory.tenant_statement).
        # Nothing is set, so RLS shows any other statement nothing.
        return
    tenant_id = session_tenant(session)
    # Always set it, empty when unscoped: a pooled connection must never inherit a tenant.
    tenant = {"tenant_id": str(tenant_id) if tenant_id else ""}
    timeouts = session.info.get(TIMEOUTS_KEY)
    if isinstance(timeouts, TransactionTimeouts):
        connection.execute(SET_TENANT_AND_TIMEOUTS_SQL, {**tenant, **timeouts.parameters()})
    else:
        connection.execute(SET_TENANT_SQL, tenant)


async def execute(
    session: AsyncSession, statement: Executable, params: dict[str, Any] | None = None
) -> Result[Any]:
    """SQLAlchemy's own execute, for generic statements SQLModel's `exec()` is not typed for.

    SQLModel overrides `execute` only to warn that `exec` is nicer for its own `select()`.
    """
    return await SQLAlchemyAsyncSession.execute(session, statement, params)


class SessionFactory:
    """Opens sessions on the runtime engine; resolvers, the CLI and the executor share it.

    Each unit of work is its own short transaction: sibling GraphQL resolvers run concurrently and
    an AsyncSession must not be shared between concurrent awaits.
    """

    def __init__(
        self,
        engine: AsyncEngine,
        *,
        timeouts: TransactionTimeouts | None = None,
        on_committed: OnCommitted | None = None,
        session_info: Mapping[str, object] | None = None,
    ) -> None:
        """`timeouts` bound every transaction on PostgreSQL (None: the server's defaults);
        `on_committed` is awaited after each writing transaction commits, with what it may have
        changed (the caches forget it: db/changes.py); `session_info` is put in every session's
        `info`, for the code that writes through it (the process's event wake-ups, say)."""
        self.engine = engine
        self.session_info = dict(session_info or {})
        self.timeouts = timeouts
        self.on_committed = on_committed
        # SQLModel's session: `exec()` is typed for SQLModel's `select()` and `col()`.
        self._reader = async_sessionmaker(
            engine, class_=AsyncSession, expire_on_commit=False, autoflush=False
        )
        self._writer = async_sessionmaker(
            engine.execution_options(**{WRITE_OPTION: True}),
            class_=AsyncSession,
            expire_on_commit=False,
            autoflush=False,
        )
        self._outside_transactions = async_sessionmaker(
            engine.execution_options(isolation_level="AUTOCOMMIT"),
            class_=AsyncSession,
            expire_on_commit=False,
            autoflush=False,
        )

    def for_tenant(self, tenant_id: uuid.UUID, *, shared_reads: bool = False) -> TenantDb:
        """The handle services take: every transaction it opens is in `tenant_id`."""
        return TenantDb(self, tenant_id, shared_reads=shared_reads)

    def scoped(self, tenant_id: uuid.UUID, *, writes: bool = True) -> AsyncSession:
        """A session confined to one tenant; the caller manages its transaction."""
        session = self._session(writes)
        session.info[TENANT_KEY] = tenant_id
        return session

    def unscoped(self, *, writes: bool = True) -> AsyncSession:
        """A session for global tables only (users, tenants, the module catalogue)."""
        return self._session(writes)

    def _session(self, writes: bool) -> AsyncSession:
        session = (self._writer if writes else self._reader)()
        session.info.update(self.session_info)
        session.info[TIMEOUTS_KEY] = self.timeouts
        return session

    @asynccontextmanager
    async def tenant_transaction(
        self, tenant_id: uuid.UUID, *, visible: bool = True
    ) -> AsyncIterator[AsyncSession]:
        """One writing transaction in one tenant: committed on success, rolled back on error.
        `visible=False`: it writes nothing an answer shows (a lease), so no cache forgets."""
        async with self.scoped(tenant_id) as session:
            async with session.begin():
                yield session
            await self._committed(session, tenant_id, visible=visible)

    @asynccontextmanager
    async def tenant_reader(self, tenant_id: uuid.UUID) -> AsyncIterator[AsyncSession]:
        """One reading transaction in one tenant."""
        async with self.scoped(tenant_id, writes=False) as session, session.begin():
            yield session

    @asynccontextmanager
    async def tenant_statement(self, tenant_id: uuid.UUID) -> AsyncIterator[AsyncSession]:
        """A session of one tenant outside any transaction (PostgreSQL): no BEGIN, no COMMIT,
        no tenant setting; each statement is its own transaction and sets its tenant itself, as
        tf_feed_events does. One round trip for a read instead of four (BEGIN, the tenant
        setting, the read, COMMIT)."""
        session = self._outside_transactions()
        session.info.update(self.session_info)
        session.info[TENANT_KEY] = tenant_id
        async with session:
            yield session

    @asynccontextmanager
    async def global_transaction(self) -> AsyncIterator[AsyncSession]:
        async with self.unscoped() as session:
            async with session.begin():
                yield session
            await self._committed(session, None, visible=True)

    async def _committed(
        self, session: AsyncSession, tenant_id: uuid.UUID | None, *, visible: bool
    ) -> None:
        changes = committed(session.sync_session, tenant_id)
        try:
            changed = changes.tenants or changes.users or changes.shared
            if self.on_committed is not None and visible and changed:
                # Shielded: a writer cancelled now (its client gone) has committed all the same.
                await asyncio.shield(self.on_committed(changes))
        finally:
            # After the caches forgot: whoever the callbacks wake reads the new state.
            _run_after_commit(session.sync_session)
            await _await_after_commit(session.sync_session)

    @asynccontextmanager
    async def global_reader(self) -> AsyncIterator[AsyncSession]:
        async with self.unscoped(writes=False) as session, session.begin():
            yield session


class TenantDb:
    """One tenant's handle on the database: every transaction it opens is in its tenant.

    Services take this rather than a session factory and a tenant id, so that no call site can
    pair them wrongly; the tenant of every row they write comes from the session it opened.

    A handle made for one HTTP request (`shared_reads`) gives every read of the request, every
    loader batch included, the same reading transaction on one connection, opened at the first
    read and ended by `aclose()` or by a writing transaction: one BEGIN and one pool checkout per
    request instead of one per batch. Reads take turns on it (an AsyncSession is not safe for
    concurrent use); a read that fails rolls it back, and the next read begins anew. Long-lived
    handles (a websocket's) keep a short transaction per read.
    """

    __slots__ = ("_lock", "_shared", "sessions", "shared_reads", "tenant_id")

    def __init__(
        self, sessions: SessionFactory, tenant_id: uuid.UUID, *, shared_reads: bool = False
    ) -> None:
        self.sessions = sessions
        self.tenant_id = tenant_id
        self.shared_reads = shared_reads
        self._shared: AsyncSession | None = None
        self._lock = asyncio.Lock()

    def __repr__(self) -> str:
        return f"TenantDb(tenant_id={self.tenant_id!r}, shared_reads={self.shared_reads})"

    def transaction(self) -> AbstractAsyncContextManager[AsyncSession]:
        """One writing transaction: committed on success, rolled back on error."""
        if self.shared_reads:
            return self._writing_after_reads()
        return self.sessions.tenant_transaction(self.tenant_id)

    @asynccontextmanager
    async def _writing_after_reads(self) -> AsyncIterator[AsyncSession]:
        # A request holds one pooled connection at a time: waiting for a second while holding
        # the first starves a pool (or pgbouncer) under load. Reads after the write begin anew
        # and see it. A read in progress keeps its transaction (never waited for: it may be
        # the caller).
        if not self._lock.locked() and self._shared is not None:
            async with self._lock:
                session, self._shared = self._shared, None
            await session.close()
        async with self.sessions.tenant_transaction(self.tenant_id) as session:
            yield session

    def reader(self) -> AbstractAsyncContextManager[AsyncSession]:
        """A reading transaction: the request's shared one, or one of its own."""
        if self.shared_reads:
            return self._shared_reader()
        return self.sessions.tenant_reader(self.tenant_id)

    def statement(self) -> AbstractAsyncContextManager[AsyncSession]:
        """Outside any transaction: for statements that set the tenant themselves."""
        return self.sessions.tenant_statement(self.tenant_id)

    @asynccontextmanager
    async def _shared_reader(self) -> AsyncIterator[AsyncSession]:
        async with self._lock:
            if self._shared is None:
                self._shared = self.sessions.scoped(self.tenant_id, writes=False)
            session = self._shared
            if not session.in_transaction():
                await session.begin()
            try:
                yield session
            except BaseException:
                await session.rollback()
                raise

    async def aclose(self) -> None:
        """End the shared reading transaction, if one was opened (a no-op otherwise)."""
        async with self._lock:
            session, self._shared = self._shared, None
        if session is not None:
            await session.close()
