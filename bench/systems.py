"""How each system under test is started: tenantflow as the README says, PostGraphile 4."""

from __future__ import annotations

import os
import secrets
import socket
import sys
from dataclasses import dataclass
from pathlib import Path

from bench import servers
from bench.database import POSTGRAPHILE_DB, TENANTFLOW_DB, Roles
from bench.pg import Cluster
from bench.servers import Server

TENANTFLOW = Path(sys.executable).parent / "tenantflow"


@dataclass(frozen=True)
class Keys:
    secret_key: str
    encryption_key: str

    @classmethod
    def generate(cls) -> Keys:
        return cls(secrets.token_urlsafe(48), secrets.token_urlsafe(32))


def tenantflow_env(cluster: Cluster, roles: Roles, keys: Keys, redis_url: str) -> dict[str, str]:
    """Production settings with generated keys; rate limits off, so that the bench is not
    throttled; GraphiQL off. Everything else is tenantflow's default."""
    return {
        **os.environ,
        "TENANTFLOW_ENV": "production",
        "TENANTFLOW_DATABASE_URL": cluster.url(roles.runtime, TENANTFLOW_DB),
        "TENANTFLOW_MIGRATION_DATABASE_URL": cluster.url(roles.owner, TENANTFLOW_DB),
        "TENANTFLOW_SECRET_KEY": keys.secret_key,
        "TENANTFLOW_ENCRYPTION_KEYS": keys.encryption_key,
        "TENANTFLOW_REDIS_URL": redis_url,
        "TENANTFLOW_RATE_LIMITS": "off",
        "TENANTFLOW_GRAPHIQL": "false",
        # Every socket of the load comes from one address (the driver's) and a few tenants.
        "TENANTFLOW_WS_MAX_CONNECTIONS_PER_ADDRESS": "10000",
        "TENANTFLOW_WS_MAX_CONNECTIONS_PER_TENANT": "1000",
        "TENANTFLOW_WS_MAX_SUBSCRIPTIONS_PER_TENANT": "1000",
    }


def spawn_tenantflow(
    name: str, env: dict[str, str], *, port: int, workers: int, run_dir: Path
) -> Server:
    command = [str(TENANTFLOW), "serve", "--port", str(port), "--workers", str(workers)]
    return servers.spawn(name, command, env=env, port=port, run_dir=run_dir, ready_path="/readyz")


def spawn_postgraphile(
    cluster: Cluster, roles: Roles, keys: Keys, *, node_dir: Path, port: int, run_dir: Path
) -> Server:
    env = {
        **os.environ,
        "DATABASE_URL": cluster.libpq_url(roles.postgraphile, POSTGRAPHILE_DB),
        "PORT": str(port),
        "WORKERS": "2",
        "JWT_SECRET": keys.secret_key,
        "NODE_ENV": "production",
    }
    return servers.spawn(
        "postgraphile",
        ["node", str(node_dir / "server.js")],
        env=env,
        port=port,
        run_dir=run_dir,
        ready_path="/graphql",
        cwd=node_dir,
    )


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port
