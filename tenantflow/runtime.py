"""The process-wide resources the lifespan owns, shared with every request through its state."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy.ext.asyncio import AsyncEngine

from tenantflow.auth.throttle import LoginThrottle
from tenantflow.auth.tokens import AccessTokenCodec
from tenantflow.cache.setup import Caches
from tenantflow.db.session import SessionFactory, TransactionTimeouts
from tenantflow.events.wiring import LiveEvents
from tenantflow.executor.step_context import NodeServices
from tenantflow.observability import metrics
from tenantflow.observability.metrics import OperationLabels, TenantLabels
from tenantflow.protection.budgets import Budgets
from tenantflow.protection.sockets import SocketRegistry
from tenantflow.protection.storage import LimiterStorage
from tenantflow.secrets.envelope import MasterKeyring
from tenantflow.services.identity.credentials import CredentialResolver
from tenantflow.services.identity.rechecks import SharedRechecks
from tenantflow.settings import Settings


@dataclass
class Runtime:
    settings: Settings
    engine: AsyncEngine
    sessions: SessionFactory
    tokens: AccessTokenCodec
    credentials: CredentialResolver
    # Open subscriptions' credential re-checks, one per credential for all that hold it.
    rechecks: SharedRechecks
    keyring: MasterKeyring
    # What node types of this process's executor may use (the keyring, the outbound policy).
    nodes: NodeServices
    # Wake-ups within and across processes: the event feeds and the executor's doorbell.
    events: LiveEvents
    # Where budgets and the login throttle count: Redis when configured (shared by every
    # process), else this process; this process while Redis fails.
    limiter_storage: LimiterStorage
    # Failed logins per account and address.
    login_throttle: LoginThrottle
    # The contract's request, cost and LOGIN budgets.
    budgets: Budgets
    # Websocket connections and subscriptions of this process.
    sockets: SocketRegistry
    # Bounded label values for /metrics.
    tenant_labels: TenantLabels
    operation_labels: OperationLabels
    # Principals and query answers kept between requests; None when caching is off.
    caches: Caches | None = None
    shutting_down: bool = False

    @classmethod
    def create(cls, settings: Settings, engine: AsyncEngine) -> Runtime:
        events = LiveEvents.of(settings)
        caches = Caches.of(settings)
        sessions = SessionFactory(
            engine,
            timeouts=TransactionTimeouts.of(settings),
            on_committed=caches.invalidation if caches else None,
            session_info=events.session_info,
        )
        tokens = AccessTokenCodec(settings.signing_key, ttl_seconds=settings.access_token_ttl)
        nodes = NodeServices.from_settings(settings)
        limiter_storage = LimiterStorage(settings.redis_url, key_prefix=settings.redis_key_prefix)
        metrics.POOLS.watch(engine.pool)
        credentials = CredentialResolver(
            sessions,
            tokens,
            cache=caches.principals if caches else None,
            versions=caches.versions if caches else None,
        )
        return cls(
            settings=settings,
            engine=engine,
            sessions=sessions,
            tokens=tokens,
            credentials=credentials,
            rechecks=SharedRechecks(credentials.resolve),
            keyring=nodes.keyring,
            nodes=nodes,
            events=events,
            limiter_storage=limiter_storage,
            login_throttle=LoginThrottle(storage=limiter_storage),
            budgets=Budgets(settings.rates, limiter_storage),
            sockets=SocketRegistry(settings.socket_caps),
            tenant_labels=TenantLabels(settings.metrics_tenant_labels),
            operation_labels=OperationLabels(),
            caches=caches,
        )
