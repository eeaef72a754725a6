"""Websocket caps: connections per tenant and per client address, subscriptions per connection
and per tenant. Counted per process (a process's sockets are its own); each count is a `Lease`
given back when its socket or subscription ends, and a key whose count is back at 0 is
forgotten, so the registry holds nothing for sockets that closed.
"""

from __future__ import annotations

import uuid
from collections.abc import Hashable
from dataclasses import dataclass, field

from tenantflow.errors import ErrorCode, Refusal
from tenantflow.observability import metrics


@dataclass(frozen=True)
class SocketCaps:
    connections_per_tenant: int = 50
    connections_per_address: int = 20
    subscriptions_per_connection: int = 20
    subscriptions_per_tenant: int = 100


class SocketCapReached(Refusal):
    def __init__(self, what: str, limit: str, maximum: int) -> None:
        super().__init__(
            f"Too many {what} (at most {maximum})", ErrorCode.RATE_LIMITED, limit=limit, max=maximum
        )
        self.limit = limit
        metrics.RATE_LIMIT_REFUSALS.labels("websocket").inc()


@dataclass
class _Counts:
    counts: dict[Hashable, int] = field(default_factory=dict)

    def take(self, key: Hashable, maximum: int) -> bool:
        held = self.counts.get(key, 0)
        if held >= maximum:
            return False
        self.counts[key] = held + 1
        return True

    def give_back(self, key: Hashable) -> None:
        held = self.counts.get(key, 0) - 1
        if held > 0:
            self.counts[key] = held
        else:
            self.counts.pop(key, None)


class Lease:
    """Held counts, given back once (`release` may be called again, harmlessly)."""

    def __init__(self, holds: list[tuple[_Counts, Hashable]]) -> None:
        self._holds = holds

    def release(self) -> None:
        holds, self._holds = self._holds, []
        for counts, key in holds:
            counts.give_back(key)


class SocketRegistry:
    def __init__(self, caps: SocketCaps) -> None:
        self.caps = caps
        self._addresses = _Counts()
        self._tenants = _Counts()
        self._subscriptions_by_connection = _Counts()
        self._subscriptions_by_tenant = _Counts()

    def open_connection(self, address: str) -> Lease:
        """A socket from `address` (SocketCapReached when it has too many open)."""
        if not self._addresses.take(address, self.caps.connections_per_address):
            raise SocketCapReached(
                "connections from this address",
                "connectionsPerAddress",
                self.caps.connections_per_address,
            )
        return Lease([(self._addresses, address)])

    def join_tenant(self, tenant_id: uuid.UUID) -> Lease:
        """An authenticated socket of the tenant."""
        if not self._tenants.take(tenant_id, self.caps.connections_per_tenant):
            raise SocketCapReached(
                "connections for this tenant",
                "connectionsPerTenant",
                self.caps.connections_per_tenant,
            )
        return Lease([(self._tenants, tenant_id)])

    def subscribe(self, connection: Hashable, tenant_id: uuid.UUID | None) -> Lease:
        """A subscription on `connection` (any key that names the socket) of the tenant."""
        if not self._subscriptions_by_connection.take(
            connection, self.caps.subscriptions_per_connection
        ):
            raise SocketCapReached(
                "subscriptions on this connection",
                "subscriptionsPerConnection",
                self.caps.subscriptions_per_connection,
            )
        holds: list[tuple[_Counts, Hashable]] = [(self._subscriptions_by_connection, connection)]
        if tenant_id is not None and not self._subscriptions_by_tenant.take(
            tenant_id, self.caps.subscriptions_per_tenant
        ):
            Lease(holds).release()
            raise SocketCapReached(
                "subscriptions for this tenant",
                "subscriptionsPerTenant",
                self.caps.subscriptions_per_tenant,
            )
        if tenant_id is not None:
            holds.append((self._subscriptions_by_tenant, tenant_id))
        return Lease(holds)

    def subscriptions_of(self, tenant_id: uuid.UUID) -> int:
        return self._subscriptions_by_tenant.counts.get(tenant_id, 0)

    @property
    def held(self) -> int:
        """Every count held (0 once every socket closed: nothing is kept for them)."""
        return sum(
            len(counts.counts)
            for counts in (
                self._addresses,
                self._tenants,
                self._subscriptions_by_connection,
                self._subscriptions_by_tenant,
            )
        )
