"""`tenantflow serve --workers 2`: /metrics on whichever worker answers counts every worker's
requests (prometheus-client's multiprocess mode), not just its own."""

from __future__ import annotations

from pathlib import Path

import httpx
import pytest

from tests.live_server import free_port, running
from tests.pg_deployments import PostgresDatabase
from tests.protection.test_observability import TOKEN, samples
from tests.redis_helpers import REDIS_URL

pytestmark = pytest.mark.postgresql

REQUESTS = 60


def requests_counted(text: str) -> float:
    return sum(
        count
        for (name, labels), count in samples(text).items()
        if name == "tenantflow_requests_total" and ("transport", "http") in labels
    )


def test_metrics_count_the_requests_of_every_worker(
    clean_postgres: PostgresDatabase, redis_prefix: str, tmp_path: Path
) -> None:
    # given: two workers sharing one socket
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    env = {
        "TENANTFLOW_DATABASE_URL": clean_postgres.runtime_url,
        "TENANTFLOW_MIGRATION_DATABASE_URL": clean_postgres.owner_url,
        "TENANTFLOW_DATABASE_ROLE_PREFIX": clean_postgres.roles.prefix,
        "TENANTFLOW_REDIS_URL": REDIS_URL,
        "TENANTFLOW_REDIS_KEY_PREFIX": redis_prefix,
        "TENANTFLOW_DATA_DIR": str(tmp_path),
        "TENANTFLOW_SECRET_KEY": "test-signing-key-" + "x" * 32,
        "TENANTFLOW_ENCRYPTION_KEYS": "test-master-key-" + "y" * 32,
        "TENANTFLOW_RATE_LIMITS": "off",
        "TENANTFLOW_EXECUTOR_WORKERS": "0",
        "TENANTFLOW_METRICS_TOKEN": TOKEN,
    }
    command = ["-m", "tenantflow.cli", "serve", "--port", str(port), "--workers", "2"]
    with running(command, base, folder=tmp_path, env=env):
        # when: requests on fresh connections, which the kernel spreads over the workers
        for _ in range(REQUESTS):
            with httpx.Client(base_url=base) as http:
                response = http.post("/graphql", json={"query": "{ __typename }"})
                assert response.status_code == 200
        scrapes = []
        for _ in range(6):
            with httpx.Client(base_url=base) as http:
                scraped = http.get("/metrics", headers={"Authorization": f"Bearer {TOKEN}"})
                assert scraped.status_code == 200
                scrapes.append(requests_counted(scraped.text))

    # then: every scrape, whichever worker made it, counts all of them
    assert scrapes == [REQUESTS] * len(scrapes)
