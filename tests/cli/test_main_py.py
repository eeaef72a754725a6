"""`python main.py --host H --port P`: the quick start migrates, then serves where it is told."""

from __future__ import annotations

from pathlib import Path

import httpx

from tests.live_server import free_port, running

MAIN = Path(__file__).resolve().parents[2] / "main.py"


def test_main_py_serves_on_the_port_it_is_given(tmp_path: Path) -> None:
    # given a folder with no database yet (the embedded default is ./tenantflow.db)
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    env = {"TENANTFLOW_DATA_DIR": str(tmp_path / "data"), "TENANTFLOW_EXECUTOR_WORKERS": "0"}
    env["TENANTFLOW_DATABASE_URL"] = "sqlite+aiosqlite:///./tenantflow.db"
    # when
    command = [str(MAIN), "--host", "127.0.0.1", "--port", str(port)]
    with running(command, base, folder=tmp_path, env=env):
        # then it answers there, migrated
        assert httpx.get(f"{base}/healthz").status_code == 200
        assert httpx.get(f"{base}/readyz").status_code == 200
        answer = httpx.post(f"{base}/graphql", json={"query": "{ __typename }"}).json()
        assert answer == {"data": {"__typename": "Query"}, "extensions": {"cost": 1}}
    assert (tmp_path / "tenantflow.db").exists()
