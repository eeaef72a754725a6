"""The TENANTFLOW_* configuration of the contract, read once into a typed object."""

from __future__ import annotations

import secrets
from enum import StrEnum
from functools import cached_property
from pathlib import Path
from typing import Annotated

from pydantic import Field, field_validator, model_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

from tenantflow.outbound.policy import OutboundPolicy

DEFAULT_DATABASE_URL = "sqlite+aiosqlite:///./tenantflow.db"


class Environment(StrEnum):
    DEVELOPMENT = "development"
    PRODUCTION = "production"


class SettingsError(ValueError):
    """The configuration cannot work; the message says what to set."""


def _split_csv(value: object) -> object:
    if isinstance(value, str):
        return [part.strip() for part in value.split(",") if part.strip()]
    return value


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="TENANTFLOW_", extra="ignore")

    env: Environment = Environment.DEVELOPMENT
    database_url: str = DEFAULT_DATABASE_URL
    migration_database_url: str | None = None
    redis_url: str | None = None
    secret_key: str | None = None
    encryption_keys: Annotated[list[str], NoDecode] = Field(default_factory=list)
    rate_limits: str = ""
    graphiql: bool | None = None
    introspection: bool | None = None
    legacy_ws: bool = False
    cors_origins: Annotated[list[str], NoDecode] = Field(default_factory=list)
    trusted_proxies: Annotated[list[str], NoDecode] = Field(default_factory=list)
    metrics_token: str | None = None
    access_token_ttl: int = Field(default=900, gt=0)
    refresh_token_ttl: int = Field(default=2_592_000, gt=0)
    event_retention_days: int = Field(default=7, gt=0)
    execution_retention_days: int = Field(default=90, gt=0)
    tenant_retention_days: int = Field(default=30, ge=0)
    # Executions this process runs at once; 0 leaves running to other processes.
    executor_workers: int = Field(default=4, ge=0, le=64)
    # An execution's lease: renewed while it runs; another process takes over once it lapses.
    executor_lease_seconds: int = Field(default=30, ge=5, le=300)
    # Where development keys are generated and kept (not a contract variable).
    data_dir: Path = Path("./data")

    _split = field_validator("encryption_keys", "cors_origins", "trusted_proxies", mode="before")(
        _split_csv
    )

    # Hosts and networks the http node may reach despite the private-address rule.
    http_allow: Annotated[list[str], NoDecode] = Field(default_factory=list)
    _split_http_allow = field_validator("http_allow", mode="before")(_split_csv)

    @field_validator("http_allow")
    @classmethod
    def _http_allow_entries(cls, entries: list[str]) -> list[str]:
        OutboundPolicy.parse(entries)  # refused at start-up, not at the first http node
        return entries

    @model_validator(mode="after")
    def _production_needs_secrets(self) -> Settings:
        if self.is_production:
            missing = [
                name
                for name, value in (
                    ("TENANTFLOW_SECRET_KEY", self.secret_key),
                    ("TENANTFLOW_ENCRYPTION_KEYS", self.encryption_keys),
                )
                if not value
            ]
            if missing:
                raise SettingsError(f"production requires {', '.join(missing)} to be set")
        return self

    @property
    def is_production(self) -> bool:
        return self.env is Environment.PRODUCTION

    @property
    def is_sqlite(self) -> bool:
        return self.database_url.startswith("sqlite")

    @property
    def is_postgresql(self) -> bool:
        return self.database_url.startswith("postgresql")

    @property
    def owner_database_url(self) -> str:
        """The connection that owns the schema and runs migrations."""
        if self.migration_database_url:
            return self.migration_database_url
        if self.is_sqlite:
            return self.database_url
        raise SettingsError(
            "TENANTFLOW_MIGRATION_DATABASE_URL is required on PostgreSQL: migrations run as the "
            "owner of the tables, never as the runtime role"
        )

    @property
    def graphiql_enabled(self) -> bool:
        return self.graphiql if self.graphiql is not None else not self.is_production

    @property
    def introspection_enabled(self) -> bool:
        return self.introspection if self.introspection is not None else not self.is_production

    @cached_property
    def signing_key(self) -> str:
        return self.secret_key or self._development_secret("secret_key", 48)

    @cached_property
    def master_keys(self) -> list[str]:
        """Master keys for wrapping tenant data keys; the first wraps, all unwrap."""
        return self.encryption_keys or [self._development_secret("encryption_key", 32)]

    def _development_secret(self, name: str, size: int) -> str:
        """Generate a secret once and keep it in the data folder, so restarts keep sessions."""
        path = self.data_dir / name
        if path.exists():
            return path.read_text().strip()
        self.data_dir.mkdir(parents=True, exist_ok=True)
        value = secrets.token_urlsafe(size)
        path.touch(mode=0o600)
        path.write_text(value)
        return value
