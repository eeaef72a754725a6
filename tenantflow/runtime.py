"""The process-wide resources the lifespan owns, shared with every request through its state."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy.ext.asyncio import AsyncEngine

from tenantflow.auth.throttle import LoginThrottle
from tenantflow.auth.tokens import AccessTokenCodec
from tenantflow.db.session import SessionFactory, TransactionTimeouts
from tenantflow.events.broker import LocalBroker
from tenantflow.executor.step_context import NodeServices
from tenantflow.secrets.envelope import MasterKeyring
from tenantflow.services.identity.credentials import CredentialResolver
from tenantflow.settings import Settings


@dataclass
class Runtime:
    settings: Settings
    engine: AsyncEngine
    sessions: SessionFactory
    tokens: AccessTokenCodec
    credentials: CredentialResolver
    keyring: MasterKeyring
    # What node types of this process's executor may use (the keyring, the outbound policy).
    nodes: NodeServices
    events: LocalBroker
    # Failed logins per account and address: shared by every process when Redis is configured.
    login_throttle: LoginThrottle
    shutting_down: bool = False

    @classmethod
    def create(cls, settings: Settings, engine: AsyncEngine) -> Runtime:
        events = LocalBroker()
        sessions = SessionFactory(
            engine, announce_events=events.publish, timeouts=TransactionTimeouts.of(settings)
        )
        tokens = AccessTokenCodec(settings.signing_key, ttl_seconds=settings.access_token_ttl)
        nodes = NodeServices.from_settings(settings)
        return cls(
            settings=settings,
            engine=engine,
            sessions=sessions,
            tokens=tokens,
            credentials=CredentialResolver(sessions, tokens),
            keyring=nodes.keyring,
            nodes=nodes,
            events=events,
            login_throttle=LoginThrottle(storage_uri=settings.redis_url),
        )
