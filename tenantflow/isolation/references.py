"""Every reference between tenant tables is composite: foreign-key checks ignore RLS, so a plain
`workflow_id` reference would let one tenant's row point at another tenant's row."""

from __future__ import annotations

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection

from tenantflow.isolation.expected import Deployment
from tenantflow.isolation.findings import Finding

_REFERENCES_SQL = text(
    """
    SELECT con.conname, src.relname, dst.relname,
           ARRAY(SELECT a.attname::text FROM unnest(con.conkey) WITH ORDINALITY AS k(n, i)
                 JOIN pg_attribute a ON a.attrelid = con.conrelid AND a.attnum = k.n
                 ORDER BY k.i),
           ARRAY(SELECT a.attname::text FROM unnest(con.confkey) WITH ORDINALITY AS k(n, i)
                 JOIN pg_attribute a ON a.attrelid = con.confrelid AND a.attnum = k.n
                 ORDER BY k.i)
    FROM pg_constraint con
    JOIN pg_class src ON src.oid = con.conrelid
    JOIN pg_class dst ON dst.oid = con.confrelid
    WHERE con.contype = 'f'
      AND src.relname = ANY(CAST(:tables AS text[])) AND dst.relname = ANY(CAST(:tables AS text[]))
      AND src.relnamespace = (SELECT oid FROM pg_namespace WHERE nspname = current_schema())
    ORDER BY 2, 1
    """
)


def composite(columns: list[str], referenced: list[str]) -> bool:
    """tenant_id on both sides, in the same position."""
    return any(a == b == "tenant_id" for a, b in zip(columns, referenced, strict=True))


async def check(connection: AsyncConnection, deployment: Deployment) -> list[Finding]:
    rows = await connection.execute(_REFERENCES_SQL, {"tables": list(deployment.tenant_tables)})
    findings: list[Finding] = []
    for name, table, target, columns, referenced in rows.all():
        if composite(list(columns), list(referenced)):
            continue
        local = ", ".join(["tenant_id", *[c for c in columns if c != "tenant_id"]])
        remote = ", ".join(["tenant_id", *[c for c in referenced if c != "tenant_id"]])
        findings.append(
            Finding(
                "references",
                f"{table}.{name}",
                f"({', '.join(columns)}) -> {target} ({', '.join(referenced)}) leaves out"
                " tenant_id: a row could point into another tenant",
                f"ALTER TABLE {table} DROP CONSTRAINT {name}, ADD FOREIGN KEY ({local})"
                f" REFERENCES {target} ({remote}) (with a unique key on {target} ({remote}))",
            )
        )
    return findings
