"""No SECURITY DEFINER function beyond the documented narrow paths, each with a fixed search_path,
owned by the system role, and executable only by whom the README says."""

from __future__ import annotations

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection

from tenantflow.isolation.expected import DOCUMENTED_DEFINERS, OWNER_ONLY_PATHS, Deployment
from tenantflow.isolation.findings import Finding

_DEFINERS_SQL = text(
    """
    SELECT n.nspname, p.proname || '(' || oidvectortypes(p.proargtypes) || ')',
           pg_get_userbyid(p.proowner), coalesce(p.proconfig, '{}'),
           has_function_privilege(:app, p.oid, 'EXECUTE'),
           EXISTS (SELECT 1 FROM aclexplode(coalesce(p.proacl, acldefault('f', p.proowner))) a
                   WHERE a.grantee = 0 AND a.privilege_type = 'EXECUTE')
    FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace
    WHERE p.prosecdef AND n.nspname NOT IN ('pg_catalog', 'information_schema')
      AND n.nspname NOT LIKE 'pg\\_toast%' AND n.nspname NOT LIKE 'pg\\_temp%'
    ORDER BY 1, 2
    """
)


def fixed_search_path(config: list[str]) -> bool:
    """A search_path set on the function, with pg_temp last (else temporary objects come first)."""
    for setting in config:
        if setting.startswith("search_path="):
            schemas = [s.strip().strip('"') for s in setting.split("=", 1)[1].split(",")]
            return bool(schemas) and schemas[-1] == "pg_temp" and "$user" not in schemas
    return False


async def check(connection: AsyncConnection, deployment: Deployment) -> list[Finding]:
    findings: list[Finding] = []
    system = deployment.roles.system
    rows = (await connection.execute(_DEFINERS_SQL, {"app": deployment.roles.app})).all()
    for schema, signature, owner, config, app_executes, public_executes in rows:
        name = f"{schema}.{signature}"
        if signature not in DOCUMENTED_DEFINERS or schema != "public":
            findings.append(
                Finding(
                    "functions",
                    name,
                    f"SECURITY DEFINER function (owned by {owner}) that is no documented narrow"
                    " path: it runs with its owner's rights for whoever may call it",
                    f"DROP FUNCTION {name} (or ALTER FUNCTION {name} SECURITY INVOKER)",
                )
            )
            continue
        if not fixed_search_path(list(config)):
            findings.append(
                Finding(
                    "functions",
                    name,
                    "no fixed search_path ending in pg_temp: objects of the caller's choosing"
                    " could stand in for the tables",
                    f"ALTER FUNCTION {name} SET search_path = public, pg_temp",
                )
            )
        if owner != system:
            findings.append(
                Finding(
                    "functions",
                    name,
                    f"owned by {owner}, not by {system}",
                    f"ALTER FUNCTION {name} OWNER TO {system}",
                )
            )
        if public_executes:
            findings.append(
                Finding(
                    "functions",
                    name,
                    "PUBLIC may execute it",
                    f"REVOKE ALL ON FUNCTION {name} FROM PUBLIC",
                )
            )
        if signature in OWNER_ONLY_PATHS and app_executes:
            findings.append(
                Finding(
                    "functions",
                    name,
                    f"owner-only purge, yet {deployment.roles.app} may execute it",
                    f"REVOKE EXECUTE ON FUNCTION {name} FROM {deployment.roles.app}",
                )
            )
    return findings
