"""Builds the benchmark's databases: roles, tenantflow's migrations, the data, the two clones."""

from __future__ import annotations

import secrets
import subprocess
from dataclasses import dataclass
from pathlib import Path

from bench.pg import Cluster, Login
from bench.plans import Volumes

SQL_DIR = Path(__file__).parent / "sql"
TENANTFLOW_DB = "tfbench_tenantflow"
POSTGRAPHILE_DB = "tfbench_postgraphile"
CEILING_DB = "tfbench_ceiling"
DATABASES = (TENANTFLOW_DB, POSTGRAPHILE_DB, CEILING_DB)


def _login(user: str) -> Login:
    return Login(user, secrets.token_hex(16))


@dataclass(frozen=True)
class Roles:
    """Owner (migrations, loading), and one RLS-bound login role per system measured."""

    owner: Login
    runtime: Login  # tenantflow serve
    postgraphile: Login
    ceiling: Login  # pgbench

    @classmethod
    def generate(cls) -> Roles:
        return cls(
            owner=_login("tfbench_owner"),
            runtime=_login("tfbench_runtime"),
            postgraphile=_login("tfbench_postgraphile"),
            ceiling=_login("tfbench_ceiling"),
        )


def create_roles(cluster: Cluster, roles: Roles) -> None:
    # The owner is no superuser: it needs CREATEROLE for the roles the migrations create.
    cluster.psql(
        f"CREATE ROLE {roles.owner.user} LOGIN CREATEROLE PASSWORD '{roles.owner.password}'"
    )
    for login in (roles.runtime, roles.postgraphile, roles.ceiling):
        cluster.psql(f"CREATE ROLE {login.user} LOGIN PASSWORD '{login.password}'")
    cluster.psql(f"CREATE DATABASE {TENANTFLOW_DB} OWNER {roles.owner.user}")
    cluster.psql("CREATE EXTENSION IF NOT EXISTS pg_stat_statements")


def migrate(tenantflow: Path, env: dict[str, str]) -> None:
    """`tenantflow migrate` as the owner (TENANTFLOW_MIGRATION_DATABASE_URL in env)."""
    subprocess.run([str(tenantflow), "migrate"], env=env, check=True, capture_output=True)


def load(cluster: Cluster, roles: Roles, volumes: Volumes) -> None:
    cluster.psql(
        database=TENANTFLOW_DB,
        login=roles.owner,
        file=SQL_DIR / "load_data.sql",
        variables={
            "tenants": volumes.tenants,
            "members": volumes.members,
            "workflows": volumes.workflows,
            "executions": volumes.executions,
            "deployments": volumes.deployments,
            "audit": volumes.audit,
        },
    )


def clone_and_grant(cluster: Cluster, roles: Roles) -> None:
    """The peers get copies of the loaded database, with their own role setup."""
    for database in (POSTGRAPHILE_DB, CEILING_DB):
        cluster.psql(
            f"CREATE DATABASE {database} TEMPLATE {TENANTFLOW_DB} OWNER {roles.owner.user}"
        )
    # As the superuser: the narrow-path functions it annotates belong to tenantflow_system, which
    # no login role (the owner included) is a member of since migration 0004.
    cluster.psql(database=POSTGRAPHILE_DB, file=SQL_DIR / "postgraphile.sql")
    # Each system's role holds exactly the runtime's grants, and only in its own database.
    for login, database in (
        (roles.runtime, TENANTFLOW_DB),
        (roles.postgraphile, POSTGRAPHILE_DB),
        (roles.ceiling, CEILING_DB),
    ):
        cluster.psql(f"GRANT tenantflow_app TO {login.user}")
        cluster.psql(f"GRANT CONNECT ON DATABASE {database} TO {login.user}")


def row_counts(cluster: Cluster) -> dict[str, int]:
    """Rows per table, counted as the superuser (whom RLS does not filter)."""
    tables = ("tenants", "users", "workflows", "executions", "deployments", "audit_logs")
    return {
        table: int(cluster.psql(f"SELECT count(*) FROM {table}", database=TENANTFLOW_DB))
        for table in tables
    }
