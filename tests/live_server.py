"""The real server in a subprocess on a free loopback port, for tests that need a socket."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path

import httpx
import pytest

START_SECONDS = 30


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


@contextmanager
def running(
    command: Sequence[str], base_url: str, *, folder: Path, env: dict[str, str] | None = None
) -> Iterator[subprocess.Popen[bytes]]:
    """Run `command` (a server) in `folder` until `base_url`/healthz answers 200; stop it after.

    Its output goes to `folder/server.log`, shown when it fails to start.
    """
    log_path = folder / "server.log"
    with log_path.open("wb") as log:
        process = subprocess.Popen(
            [sys.executable, *command],
            cwd=folder,
            env={**os.environ, **(env or {})},
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        try:
            deadline = time.monotonic() + START_SECONDS
            while not _healthy(base_url):
                if process.poll() is not None or time.monotonic() > deadline:
                    pytest.fail(f"server did not start: {log_path.read_text()}")
                time.sleep(0.2)
            yield process
        finally:
            process.terminate()
            process.wait(timeout=10)


@contextmanager
def embedded_server(folder: Path, env: dict[str, str] | None = None) -> Iterator[str]:
    """`tenantflow serve` on a migrated SQLite database in `folder`; the GraphQL URL."""
    from tenantflow.db import migrate

    url = f"sqlite+aiosqlite:///{folder / 'tenantflow.db'}"
    migrate.upgrade(url)
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    settings = {"TENANTFLOW_DATABASE_URL": url, "TENANTFLOW_DATA_DIR": str(folder), **(env or {})}
    command = ["-m", "tenantflow.cli", "serve", "--port", str(port)]
    with running(command, base, folder=folder, env=settings):
        yield f"{base}/graphql"


def _healthy(base_url: str) -> bool:
    try:
        return httpx.get(f"{base_url}/healthz", timeout=1).status_code == 200
    except httpx.TransportError:
        return False
