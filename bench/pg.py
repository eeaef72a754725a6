"""The benchmark's own PostgreSQL cluster: connection URLs and psql, as whichever role."""

from __future__ import annotations

import os
import subprocess
from dataclasses import dataclass
from pathlib import Path

SUPERUSER = "postgres"


@dataclass(frozen=True)
class Login:
    user: str
    password: str


@dataclass(frozen=True)
class Cluster:
    bin_dir: Path
    port: int
    data_dir: Path
    superuser: Login
    host: str = "127.0.0.1"

    def url(self, login: Login, database: str, *, driver: str = "postgresql+asyncpg") -> str:
        return f"{driver}://{login.user}:{login.password}@{self.host}:{self.port}/{database}"

    def libpq_url(self, login: Login, database: str) -> str:
        return self.url(login, database, driver="postgresql")

    def env(self, login: Login) -> dict[str, str]:
        return {
            **os.environ,
            "PGHOST": self.host,
            "PGPORT": str(self.port),
            "PGUSER": login.user,
            "PGPASSWORD": login.password,
        }

    def psql(
        self,
        sql: str | None = None,
        *,
        database: str = "postgres",
        login: Login | None = None,
        file: Path | None = None,
        variables: dict[str, str | int] | None = None,
    ) -> str:
        """Runs SQL (or a file) and returns the rows, unaligned, `|`-separated."""
        command = [str(self.bin_dir / "psql"), "-X", "-q", "-At", "-v", "ON_ERROR_STOP=1"]
        command += ["-d", database]
        for name, value in (variables or {}).items():
            command += ["-v", f"{name}={value}"]
        command += ["-f", str(file)] if file is not None else ["-c", sql or ""]
        result = subprocess.run(
            command,
            env=self.env(login or self.superuser),
            capture_output=True,
            text=True,
            check=False,
        )
        if result.returncode != 0:
            raise RuntimeError(f"psql failed ({database}): {result.stderr.strip()}")
        return result.stdout.strip()

    def postmaster_pid(self) -> int:
        return int((self.data_dir / "postmaster.pid").read_text().split()[0])
