"""The TENANTFLOW_* configuration of the contract, read once into a typed object."""

from __future__ import annotations

import ipaddress
import secrets
from enum import StrEnum
from functools import cached_property
from pathlib import Path
from typing import Annotated

from pydantic import Field, ValidationError, field_validator, model_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

from tenantflow.database_roles import DEFAULT_PREFIX, DatabaseRoles
from tenantflow.outbound.policy import OutboundPolicy
from tenantflow.protection.document import QueryLimits
from tenantflow.protection.rates import Rates, parse_rates
from tenantflow.protection.sockets import SocketCaps

DEFAULT_DATABASE_URL = "sqlite+aiosqlite:///./tenantflow.db"


class Environment(StrEnum):
    DEVELOPMENT = "development"
    PRODUCTION = "production"


class Pooler(StrEnum):
    """What stands between the server and PostgreSQL."""

    NONE = "none"
    # pgbouncer in transaction pooling mode: no named prepared statements survive a transaction.
    TRANSACTION = "transaction"


# The token signing key: HS256 wants at least as many bytes as the hash (auth/tokens.py).
MIN_SECRET_KEY_BYTES = 32
GENERATE_KEYS_HINT = "`tenantflow generate-keys` prints a fresh one"


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
    # Starts every Redis key of this deployment (budgets, login throttle).
    redis_key_prefix: str = Field(default="tenantflow", pattern=r"^[A-Za-z0-9_.:-]{1,64}$")
    # Query limits of one operation (docs/behaviour.md, "Protection").
    max_query_tokens: int = Field(default=5_000, ge=100, le=1_000_000)
    max_query_depth: int = Field(default=15, ge=2, le=100)
    max_query_aliases: int = Field(default=30, ge=0, le=10_000)
    max_query_directives: int = Field(default=5, ge=1, le=1_000)
    max_query_cost: int = Field(default=5_000, ge=1, le=10_000_000)
    # Websocket caps (per process).
    ws_max_connections_per_tenant: int = Field(default=50, ge=1)
    ws_max_connections_per_address: int = Field(default=20, ge=1)
    ws_max_subscriptions_per_connection: int = Field(default=20, ge=1)
    ws_max_subscriptions_per_tenant: int = Field(default=100, ge=1)
    # Tenants labelled by slug in /metrics; the rest are `other`.
    metrics_tenant_labels: int = Field(default=20, ge=0, le=1_000)
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
    # An idle executor claims on a ring of the doorbell (a run queued in any process), and at
    # least this often without one (a lapsed lease, a lost wake-up).
    executor_idle_seconds: float = Field(default=5.0, gt=0)
    # Every feed of live-status subscribers re-reads its tenant's events this often without a
    # wake-up, so a lost wake-up delays events by at most this much (tenantflow/events).
    live_safety_poll_seconds: float = Field(default=5.0, gt=0)
    # Where development keys are generated and kept (not a contract variable).
    data_dir: Path = Path("./data")
    # Answer the hot reads (workflows, workflow) from one statement each (schema/projection).
    projection: bool = True
    # Garbage-collector settings for serving (tenantflow/gc_tuning.py); off where one process
    # starts many applications (the tests), since frozen objects are never collected.
    tune_gc: bool = True
    # Keep query answers between requests (tenantflow/cache): in Redis when configured, else in
    # this process; principals too with Redis (in-process, they are checked on every request, so
    # that the CLI's revocations, made in another process, are never delayed). Seconds an entry
    # lives at most, and the in-process bound.
    cache: bool = True
    cache_ttl: float = Field(default=60.0, gt=0, le=3_600)
    cache_max_entries: int = Field(default=20_000, ge=100, le=10_000_000)
    # PostgreSQL: the roles `<prefix>_app` and `<prefix>_system` (one prefix per deployment).
    database_role_prefix: str = DEFAULT_PREFIX
    database_pooler: Pooler = Pooler.NONE
    # Connections per process, and how long a request waits for one before SERVICE_UNAVAILABLE.
    database_pool_size: int = Field(default=10, ge=1, le=200)
    database_pool_timeout: float = Field(default=10.0, gt=0, le=120)
    # Seconds, on every runtime transaction: a stuck statement or lock fails instead of hanging.
    statement_timeout: float = Field(default=10.0, gt=0, le=600)
    lock_timeout: float = Field(default=5.0, gt=0, le=600)
    # A transaction left open between statements is ended by PostgreSQL after this long.
    idle_in_transaction_timeout: float = Field(default=60.0, gt=0, le=3600)

    _split = field_validator("encryption_keys", "cors_origins", "trusted_proxies", mode="before")(
        _split_csv
    )

    @field_validator("rate_limits")
    @classmethod
    def _valid_rates(cls, value: str) -> str:
        parse_rates(value)  # raises ValueError naming the bad entry
        return value

    @field_validator("database_role_prefix")
    @classmethod
    def _valid_prefix(cls, value: str) -> str:
        DatabaseRoles(value)  # raises ValueError with the rule
        return value

    @field_validator("secret_key")
    @classmethod
    def _long_enough(cls, value: str | None) -> str | None:
        if value is not None and len(value.encode()) < MIN_SECRET_KEY_BYTES:
            # Never echo the key itself: this message ends up in logs.
            raise ValueError(
                f"must be at least {MIN_SECRET_KEY_BYTES} bytes long ({GENERATE_KEYS_HINT})"
            )
        return value

    # Hosts and networks the http node may reach despite the private-address rule.
    http_allow: Annotated[list[str], NoDecode] = Field(default_factory=list)
    _split_http_allow = field_validator("http_allow", mode="before")(_split_csv)

    @field_validator("trusted_proxies")
    @classmethod
    def _proxy_networks(cls, entries: list[str]) -> list[str]:
        for entry in entries:
            ipaddress.ip_network(entry, strict=False)  # ValueError names the bad entry
        return entries

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
                raise SettingsError(
                    f"production requires {', '.join(missing)} to be set ({GENERATE_KEYS_HINT})"
                )
        return self

    @property
    def database_roles(self) -> DatabaseRoles:
        return DatabaseRoles(self.database_role_prefix)

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

    @property
    def suggestions_enabled(self) -> bool:
        """ "Did you mean …?" in errors: they describe the schema, so only where introspection
        is allowed."""
        return self.introspection_enabled

    @property
    def rates(self) -> Rates | None:
        """The budgets (None: TENANTFLOW_RATE_LIMITS=off)."""
        return parse_rates(self.rate_limits)

    @property
    def query_limits(self) -> QueryLimits:
        return QueryLimits(
            tokens=self.max_query_tokens,
            depth=self.max_query_depth,
            aliases=self.max_query_aliases,
            directives=self.max_query_directives,
            cost=self.max_query_cost,
        )

    @property
    def socket_caps(self) -> SocketCaps:
        return SocketCaps(
            connections_per_tenant=self.ws_max_connections_per_tenant,
            connections_per_address=self.ws_max_connections_per_address,
            subscriptions_per_connection=self.ws_max_subscriptions_per_connection,
            subscriptions_per_tenant=self.ws_max_subscriptions_per_tenant,
        )

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


def load_settings() -> Settings:
    """The settings from the environment; SettingsError with one line per bad variable."""
    try:
        return Settings()
    except ValidationError as error:
        raise SettingsError(describe(error)) from None


def describe(error: ValidationError) -> str:
    """`TENANTFLOW_<NAME>: <what is wrong>` for each problem, on one line."""
    problems = []
    for problem in error.errors():
        names = [str(part) for part in problem.get("loc", ()) if isinstance(part, str)]
        variable = f"TENANTFLOW_{names[0].upper()}: " if names else ""
        message = str(problem.get("msg", "invalid")).removeprefix("Value error, ")
        problems.append(variable + message)
    return "; ".join(problems)
