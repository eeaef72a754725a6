"""The servers under test: started in a process group of their own, stopped with it.

Each writes its pid to <run dir>/pids/, so that bench/run.sh's trap stops whatever is left if
the driver dies first.
"""

from __future__ import annotations

import os
import signal
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path

import httpx

READY_TIMEOUT_S = 90.0
STOP_TIMEOUT_S = 20.0


@dataclass
class Server:
    name: str
    url: str  # the GraphQL endpoint
    process: subprocess.Popen[bytes]
    pid_file: Path
    ready_path: str  # answers 200 (or 405) once the server can serve

    @property
    def pid(self) -> int:
        return self.process.pid

    @property
    def base_url(self) -> str:
        return self.url.removesuffix("/graphql")

    def terminate(self) -> None:
        """Asks the process group to stop; `stop` waits for it (so several stop at once)."""
        if self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGTERM)

    def stop(self) -> None:
        if self.process.poll() is None:
            self.terminate()
            try:
                self.process.wait(STOP_TIMEOUT_S)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, signal.SIGKILL)
                self.process.wait()
        self.pid_file.unlink(missing_ok=True)


def spawn(
    name: str,
    command: list[str],
    *,
    env: dict[str, str],
    port: int,
    run_dir: Path,
    ready_path: str,
    cwd: Path | None = None,
) -> Server:
    log = (run_dir / f"{name}.log").open("ab")
    process = subprocess.Popen(
        command, env=env, cwd=cwd, stdout=log, stderr=subprocess.STDOUT, start_new_session=True
    )
    pid_file = run_dir / "pids" / f"{name}.pid"
    pid_file.write_text(str(process.pid))
    return Server(name, f"http://127.0.0.1:{port}/graphql", process, pid_file, ready_path)


def wait_ready(server: Server) -> Server:
    url = server.base_url + server.ready_path
    deadline = time.monotonic() + READY_TIMEOUT_S
    while time.monotonic() < deadline:
        if server.process.poll() is not None:
            raise RuntimeError(f"{server.name} exited ({server.process.returncode}): see its log")
        try:
            # PostGraphile answers a GET on /graphql with 405 once its schema is built.
            if httpx.get(url, timeout=2).status_code in (200, 405):
                return server
        except httpx.HTTPError:
            pass
        time.sleep(0.3)
    server.stop()
    raise RuntimeError(f"{server.name} was not ready within {READY_TIMEOUT_S:.0f} s")
