"""The contract's budgets: requests and query cost per tenant per minute (by plan), requests per
client address without credentials, and the stricter LOGIN budget.

Every budget is a `limits` sliding window counter (`SlidingWindowCounterRateLimiter`): two counters
per key whatever the traffic, a cost spent in one hit, and no burst of twice the limit across a
window boundary (the previous window's count is weighted by how much of it is still inside the
last minute). Redis or memory: `storage.py`.

Anonymous requests spend the FREE plan's cost budget per client address (the contract names no
other). slowapi is not used: it limits per route and per request, and one GraphQL route carries
every operation (its cost known only once parsed, its tenant only once the credentials are read),
websocket operations included, which slowapi never sees.
"""

from __future__ import annotations

import math
import time
import uuid
from dataclasses import dataclass

from limits import RateLimitItem
from limits.aio.strategies import SlidingWindowCounterRateLimiter

from tenantflow.enums import Plan
from tenantflow.errors import ErrorCode, Refusal
from tenantflow.observability import metrics
from tenantflow.protection.keys import address_identifier, tenant_identifier
from tenantflow.protection.rates import Rates
from tenantflow.protection.storage import LimiterStorage


@dataclass(frozen=True)
class Allowance:
    """What is left of one budget: the contract's X-RateLimit-* / X-Cost-* values."""

    limit: int
    remaining: int
    reset_at: float  # epoch seconds

    @property
    def retry_after(self) -> int:
        return max(1, math.ceil(self.reset_at - time.time()))


class RateLimited(Refusal):
    def __init__(self, message: str, budget: str, allowance: Allowance) -> None:
        retry_after = allowance.retry_after
        super().__init__(
            f"{message}; retry in {retry_after} seconds",
            ErrorCode.RATE_LIMITED,
            retryAfter=retry_after,
        )
        self.budget = budget
        self.allowance = allowance
        metrics.RATE_LIMIT_REFUSALS.labels(budget).inc()


@dataclass(frozen=True)
class Spender:
    """Who spends: a tenant (by plan), or a client address without credentials."""

    identifier: str
    plan: Plan | None

    @classmethod
    def tenant(cls, tenant_id: uuid.UUID, plan: Plan) -> Spender:
        return cls(tenant_identifier(tenant_id), plan)

    @classmethod
    def anonymous(cls, address: str | None) -> Spender:
        return cls(address_identifier(address), None)


class Budgets:
    def __init__(self, rates: Rates | None, storage: LimiterStorage) -> None:
        """`rates` None: TENANTFLOW_RATE_LIMITS=off, every budget disabled."""
        self.rates = rates
        self._limiter = storage.limiter(SlidingWindowCounterRateLimiter)

    @property
    def enabled(self) -> bool:
        return self.rates is not None

    def _requests_item(self, rates: Rates, spender: Spender) -> RateLimitItem:
        return rates.requests(spender.plan) if spender.plan else rates.anonymous

    def _cost_item(self, rates: Rates, spender: Spender) -> RateLimitItem:
        return rates.cost(spender.plan or Plan.FREE)

    async def spend_request(self, spender: Spender) -> Allowance | None:
        """One request from the spender's budget (RateLimited when it is spent)."""
        if self.rates is None:
            return None
        item = self._requests_item(self.rates, spender)
        allowed = await self._limiter.hit(item, spender.identifier)
        allowance = await self._allowance(item, spender)
        if not allowed:
            what = "tenant's plan" if spender.plan else "client address"
            budget = "requests" if spender.plan else "anonymous"
            raise RateLimited(f"Too many requests for this {what}", budget, allowance)
        return allowance

    async def spend_cost(self, spender: Spender, cost: int) -> Allowance | None:
        """`cost` from the spender's cost budget, all or nothing (RateLimited when it has not
        that much left: the operation does not run and nothing is spent)."""
        if self.rates is None:
            return None
        item = self._cost_item(self.rates, spender)
        allowed = cost <= 0 or await self._limiter.hit(item, spender.identifier, cost=cost)
        allowance = await self._allowance(item, spender)
        if not allowed:
            raise RateLimited(f"The query cost budget cannot pay {cost} now", "cost", allowance)
        return allowance

    async def cost_allowance(self, spender: Spender) -> Allowance | None:
        """The cost budget as it stands (for a response whose cost was not spent)."""
        if self.rates is None:
            return None
        return await self._allowance(self._cost_item(self.rates, spender), spender)

    async def spend_login(self, *identifiers: str) -> None:
        """One signUp, logIn or refreshToken from the LOGIN budget of each identifier."""
        if self.rates is None:
            return
        item = self.rates.login
        for identifier in identifiers:
            if not await self._limiter.hit(item, identifier):
                stats = await self._limiter.stats(item, identifier)
                allowance = Allowance(item.amount, 0, stats.reset_time)
                raise RateLimited("Too many sign-in attempts", "login", allowance)

    async def login_spent(self, identifier: str) -> bool:
        """Whether the identifier's LOGIN budget has nothing left (read only)."""
        if self.rates is None:
            return False
        return not await self._limiter.test(self.rates.login, identifier)

    async def login_retry_after(self, identifier: str) -> int:
        if self.rates is None:
            return 1
        stats = await self._limiter.stats(self.rates.login, identifier)
        return Allowance(self.rates.login.amount, 0, stats.reset_time).retry_after

    async def _allowance(self, item: RateLimitItem, spender: Spender) -> Allowance:
        stats = await self._limiter.stats(item, spender.identifier)
        return Allowance(item.amount, stats.remaining, stats.reset_time)
