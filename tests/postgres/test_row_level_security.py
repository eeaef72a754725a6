"""Row Level Security, tested the way an attacker would: raw SQL as the runtime role.

Every statement here goes around the ORM's tenant filter on purpose, so only the database stands
between tenant A and tenant B.
"""

from __future__ import annotations

import uuid

import pytest
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError, IntegrityError, ProgrammingError
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from tenantflow.db.session import SessionFactory
from tests.factories import TenantRows, create_tenant

pytestmark = pytest.mark.postgresql

TENANT_TABLES_SQL = text(
    "SELECT c.relname FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace"
    " JOIN pg_attribute a ON a.attrelid = c.oid AND a.attname = 'tenant_id'"
    " WHERE n.nspname = 'public' AND c.relkind = 'r' ORDER BY 1"
)
# Foreign keys from one tenant-owned table to another: (table, columns, referenced table).
COMPOSITE_REFERENCES_SQL = text(
    """
    SELECT c.conrelid::regclass::text, array_agg(a.attname ORDER BY k.ord),
           c.confrelid::regclass::text
    FROM pg_constraint c
    CROSS JOIN LATERAL unnest(c.conkey) WITH ORDINALITY AS k(attnum, ord)
    JOIN pg_attribute a ON a.attrelid = c.conrelid AND a.attnum = k.attnum
    WHERE c.contype = 'f' AND c.connamespace = 'public'::regnamespace
      AND c.confrelid::regclass::text <> 'tenants'
      AND EXISTS (SELECT 1 FROM pg_attribute t
                  WHERE t.attrelid = c.confrelid AND t.attname = 'tenant_id')
    GROUP BY c.oid, c.conrelid, c.confrelid
    """
)


@pytest.fixture
async def two_tenants(runtime: AsyncEngine) -> tuple[TenantRows, TenantRows]:
    sessions = SessionFactory(runtime)
    return await create_tenant(sessions), await create_tenant(sessions)


async def set_tenant(connection: AsyncConnection, tenant_id: uuid.UUID | None) -> None:
    await connection.execute(
        text("SELECT set_config('app.current_tenant_id', :t, true)"),
        {"t": str(tenant_id) if tenant_id else ""},
    )


async def tenant_tables(engine: AsyncEngine) -> list[str]:
    async with engine.connect() as connection:
        return list((await connection.execute(TENANT_TABLES_SQL)).scalars())


async def test_every_tenant_table_is_covered_by_the_factory(
    runtime: AsyncEngine, two_tenants: tuple[TenantRows, TenantRows]
) -> None:
    # given a tenant made with a row in each tenant-owned table the factory knows
    a, _ = two_tenants
    tables = await tenant_tables(runtime)
    # then the factory knows every tenant-owned table of the schema (a new one must be added there)
    assert sorted(a.ids) == tables


async def test_tenant_sees_only_its_own_rows_in_every_table(
    runtime: AsyncEngine, two_tenants: tuple[TenantRows, TenantRows]
) -> None:
    a, b = two_tenants
    tables = await tenant_tables(runtime)
    async with runtime.connect() as connection, connection.begin():
        await set_tenant(connection, a.tenant_id)
        for table in tables:
            seen = set((await connection.execute(text(f"SELECT tenant_id FROM {table}"))).scalars())
            assert seen == {a.tenant_id}, table
            # even when asked for tenant B by name
            count = await connection.scalar(
                text(f"SELECT count(*) FROM {table} WHERE tenant_id = :b"), {"b": b.tenant_id}
            )
            assert count == 0, table


async def test_no_tenant_set_sees_nothing(
    runtime: AsyncEngine, two_tenants: tuple[TenantRows, TenantRows]
) -> None:
    tables = await tenant_tables(runtime)
    async with runtime.connect() as connection:
        for table in tables:
            async with connection.begin():  # never set on this connection
                assert await connection.scalar(text(f"SELECT count(*) FROM {table}")) == 0, table
            async with connection.begin():  # set to empty, as an unscoped session does
                await set_tenant(connection, None)
                assert await connection.scalar(text(f"SELECT count(*) FROM {table}")) == 0, table


async def test_malformed_tenant_setting_fails_instead_of_matching(
    runtime: AsyncEngine, two_tenants: tuple[TenantRows, TenantRows]
) -> None:
    async with runtime.connect() as connection:
        with pytest.raises(DBAPIError, match="uuid"):
            async with connection.begin():
                await connection.execute(
                    text("SELECT set_config('app.current_tenant_id', 'not-a-uuid', true)")
                )
                await connection.execute(text("SELECT count(*) FROM workflows"))


async def test_cannot_insert_a_row_into_another_tenant(
    runtime: AsyncEngine, two_tenants: tuple[TenantRows, TenantRows]
) -> None:
    a, b = two_tenants
    tables = await tenant_tables(runtime)
    async with runtime.connect() as connection:
        for table in tables:
            # a copy of A's own row, relabelled as B's (with a fresh id where there is one)
            has_id = await connection.scalar(
                text(
                    "SELECT count(*) FROM information_schema.columns"
                    " WHERE table_name = :t AND column_name = 'id'"
                ),
                {"t": table},
            )
            await connection.commit()
            override = "'tenant_id', CAST(:b AS text)" + (
                ", 'id', gen_random_uuid()" if has_id else ""
            )
            with pytest.raises(ProgrammingError, match="row-level security"):
                async with connection.begin():
                    await set_tenant(connection, a.tenant_id)
                    await connection.execute(
                        text(
                            f"INSERT INTO {table} SELECT (jsonb_populate_record(NULL::{table},"
                            f" to_jsonb(x) || jsonb_build_object({override}))).* FROM {table} x"
                        ),
                        {"b": str(b.tenant_id)},
                    )


async def test_cannot_move_or_change_another_tenants_rows(
    runtime: AsyncEngine, two_tenants: tuple[TenantRows, TenantRows]
) -> None:
    a, b = two_tenants
    tables = await tenant_tables(runtime)
    async with runtime.connect() as connection:
        for table in tables:
            if table == "audit_logs":
                continue  # no UPDATE grant at all: see the audit tests
            # moving one's own rows into B is refused by WITH CHECK
            with pytest.raises(ProgrammingError, match="row-level security"):
                async with connection.begin():
                    await set_tenant(connection, a.tenant_id)
                    await connection.execute(
                        text(f"UPDATE {table} SET tenant_id = :b"), {"b": b.tenant_id}
                    )
            # B's rows are invisible to UPDATE and DELETE: nothing is touched
            async with connection.begin():
                await set_tenant(connection, a.tenant_id)
                updated = await connection.execute(
                    text(f"UPDATE {table} SET tenant_id = tenant_id WHERE tenant_id = :b"),
                    {"b": b.tenant_id},
                )
                deleted = await connection.execute(
                    text(f"DELETE FROM {table} WHERE tenant_id = :b"), {"b": b.tenant_id}
                )
                assert (updated.rowcount, deleted.rowcount) == (0, 0), table
    # and B still has every row
    async with runtime.connect() as connection, connection.begin():
        await set_tenant(connection, b.tenant_id)
        for table in tables:
            assert await connection.scalar(text(f"SELECT count(*) FROM {table}")) == 1, table


async def test_cannot_link_own_row_to_another_tenants_row(
    runtime: AsyncEngine, two_tenants: tuple[TenantRows, TenantRows]
) -> None:
    a, b = two_tenants
    async with runtime.connect() as connection:
        references = (await connection.execute(COMPOSITE_REFERENCES_SQL)).all()
        await connection.commit()
        # executions, steps, events, idempotency keys, deployments, refresh tokens
        assert len(references) >= 6
        for table, columns, referenced in references:
            # every reference between tenant tables carries the tenant: (tenant_id, x_id)
            assert columns[0] == "tenant_id", (table, columns)
            column = columns[1]
            with pytest.raises(IntegrityError, match="foreign key"):
                async with connection.begin():
                    await set_tenant(connection, a.tenant_id)
                    await connection.execute(
                        text(f"UPDATE {table} SET {column} = :target"),
                        {"target": b.ids[referenced]},
                    )


async def test_tenant_setting_does_not_survive_into_the_next_transaction(
    runtime: AsyncEngine, two_tenants: tuple[TenantRows, TenantRows]
) -> None:
    a, _ = two_tenants
    async with runtime.connect() as connection:
        backend_pid = await connection.scalar(text("SELECT pg_backend_pid()"))
        await connection.commit()
        async with connection.begin():
            await set_tenant(connection, a.tenant_id)
            assert await connection.scalar(text("SELECT count(*) FROM workflows")) == 1
    # the pool hands back the same server connection for the next transaction
    async with runtime.connect() as connection, connection.begin():
        assert await connection.scalar(text("SELECT pg_backend_pid()")) == backend_pid
        setting = await connection.scalar(
            text("SELECT current_setting('app.current_tenant_id', true)")
        )
        assert setting in (None, "")
        assert await connection.scalar(text("SELECT count(*) FROM workflows")) == 0


async def test_scoped_session_sets_the_tenant_in_every_transaction(
    runtime: AsyncEngine, two_tenants: tuple[TenantRows, TenantRows]
) -> None:
    a, b = two_tenants
    sessions = SessionFactory(runtime)
    for rows in (a, b, a):
        async with sessions.tenant_transaction(rows.tenant_id) as session:
            # raw SQL inside the ORM session: filtered by the database, not by the ORM
            connection = await session.connection()
            seen = set(
                (await connection.execute(text("SELECT tenant_id FROM workflows"))).scalars()
            )
            assert seen == {rows.tenant_id}
    async with sessions.global_transaction() as session:
        connection = await session.connection()
        assert (await connection.execute(text("SELECT count(*) FROM workflows"))).scalar() == 0
