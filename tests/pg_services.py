"""PostgreSQL servers of a test's own: a cluster to restart, a pgbouncer to pool through.

A test that stops PostgreSQL or puts pgbouncer in front of it must never touch the shared server
(127.0.0.1:5432): these start their own, on free ports, and remove them afterwards.
"""

from __future__ import annotations

import os
import pwd
import shutil
import socket
import subprocess
import tempfile
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

PG_VERSION = os.environ.get("TENANTFLOW_TEST_PG_VERSION", "15")
PGBOUNCER = shutil.which("pgbouncer") or "/usr/sbin/pgbouncer"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def _wait_for_port(port: int, *, up: bool, seconds: float = 30) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                if up:
                    return
        except OSError:
            if not up:
                return
        time.sleep(0.1)
    raise AssertionError(f"port {port} did not go {'up' if up else 'down'} in time")


@dataclass
class Cluster:
    """A PostgreSQL cluster of the test's own (pg_createcluster), trust auth on loopback."""

    name: str
    port: int

    @property
    def admin_url(self) -> str:
        return f"postgresql+asyncpg://postgres@127.0.0.1:{self.port}/postgres"

    def _ctl(self, action: str, *extra: str) -> None:
        subprocess.run(
            ["pg_ctlcluster", "--skip-systemctl-redirect", PG_VERSION, self.name, action, *extra],
            check=True,
            capture_output=True,
        )

    def start(self) -> None:
        self._ctl("start")
        _wait_for_port(self.port, up=True)

    def stop(self) -> None:
        """A fast shutdown: open connections are cut, as in a crash or failover."""
        self._ctl("stop", "-m", "fast")
        _wait_for_port(self.port, up=False)


@contextmanager
def own_cluster() -> Iterator[Cluster]:
    cluster = Cluster(name=f"tf{uuid.uuid4().hex[:8]}", port=free_port())
    subprocess.run(
        [
            "pg_createcluster",
            PG_VERSION,
            cluster.name,
            "--port",
            str(cluster.port),
            "--",
            "--auth-local=trust",
            "--auth-host=trust",
        ],
        check=True,
        capture_output=True,
    )
    try:
        cluster.start()
        yield cluster
    finally:
        subprocess.run(
            ["pg_dropcluster", "--stop", PG_VERSION, cluster.name],
            check=False,
            capture_output=True,
        )


@dataclass
class Bouncer:
    port: int

    def url_for(self, url: str) -> str:
        """`url` (to the shared server) through this pgbouncer instead."""
        return url.replace("@127.0.0.1:5432/", f"@127.0.0.1:{self.port}/")


@contextmanager
def own_pgbouncer(users: list[str], *, server_port: int = 5432) -> Iterator[Bouncer]:
    """pgbouncer in transaction pooling mode in front of the server on `server_port`, for the
    login roles `users` (trust on loopback, as the server itself is set up), any database.

    Runs as `postgres` when started by root (pgbouncer refuses to run as root), so its folder is
    one of its own under /tmp, which that user can reach.
    """
    port = free_port()
    folder = Path(tempfile.mkdtemp(prefix="tf-pgbouncer-"))
    auth_file = folder / "users.txt"
    auth_file.write_text("".join(f'"{user}" ""\n' for user in users))
    config = folder / "pgbouncer.ini"
    config.write_text(
        "[databases]\n"
        f"* = host=127.0.0.1 port={server_port}\n"
        "[pgbouncer]\n"
        "listen_addr = 127.0.0.1\n"
        f"listen_port = {port}\n"
        f"unix_socket_dir = {folder}\n"
        "auth_type = trust\n"
        f"auth_file = {auth_file}\n"
        "pool_mode = transaction\n"
        "default_pool_size = 2\n"
        "max_client_conn = 200\n"
        "ignore_startup_parameters = extra_float_digits\n"
        f"logfile = {folder / 'pgbouncer.log'}\n"
        f"pidfile = {folder / 'pgbouncer.pid'}\n"
    )
    command = [PGBOUNCER, str(config)]
    if os.geteuid() == 0:
        owner = pwd.getpwnam("postgres")
        os.chown(folder, owner.pw_uid, owner.pw_gid)
        for path in (auth_file, config):
            os.chown(path, owner.pw_uid, owner.pw_gid)
        command = [PGBOUNCER, "-u", "postgres", str(config)]
    process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.STDOUT)
    try:
        _wait_for_port(port, up=True)
        yield Bouncer(port)
    finally:
        process.terminate()
        process.wait(timeout=10)
        shutil.rmtree(folder, ignore_errors=True)
