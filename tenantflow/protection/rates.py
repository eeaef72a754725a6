"""TENANTFLOW_RATE_LIMITS: the contract's budgets by key, with the plan table as defaults.

`FREE=60/minute,LOGIN=10/minute` overrides those two keys and keeps the rest; `off` disables every
budget. Keys: one per plan (requests per tenant), `<PLAN>_COST` (query cost per tenant),
`ANONYMOUS` (requests per client address without credentials) and `LOGIN` (signUp, logIn and
refreshToken per client address and per account). Limits are `limits` strings (`60/minute`,
`1000 per hour`).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final

from limits import RateLimitItem, parse

from tenantflow.enums import Plan

OFF: Final = "off"
DEFAULTS: Final[dict[str, str]] = {
    "FREE": "60/minute",
    "STARTER": "300/minute",
    "PRO": "1000/minute",
    "ENTERPRISE": "10000/minute",
    "FREE_COST": "6000/minute",
    "STARTER_COST": "30000/minute",
    "PRO_COST": "100000/minute",
    "ENTERPRISE_COST": "1000000/minute",
    "ANONYMOUS": "60/minute",
    "LOGIN": "10/minute",
}


@dataclass(frozen=True)
class Rates:
    """Every budget's limit; `limits` items whose namespace starts their storage keys."""

    items: dict[str, RateLimitItem]

    def requests(self, plan: Plan) -> RateLimitItem:
        return self.items[plan.value]

    def cost(self, plan: Plan) -> RateLimitItem:
        return self.items[f"{plan.value}_COST"]

    @property
    def anonymous(self) -> RateLimitItem:
        return self.items["ANONYMOUS"]

    @property
    def login(self) -> RateLimitItem:
        return self.items["LOGIN"]


def parse_rates(text: str) -> Rates | None:
    """The budgets of a TENANTFLOW_RATE_LIMITS value; None when it is `off`.

    ValueError names the bad entry (the settings refuse to start with it).
    """
    if text.strip().lower() == OFF:
        return None
    chosen = dict(DEFAULTS)
    for entry in (part.strip() for part in text.split(",")):
        if not entry:
            continue
        key, equals, limit = (part.strip() for part in entry.partition("="))
        if not equals or key.upper() not in DEFAULTS:
            known = ", ".join(DEFAULTS)
            raise ValueError(f"{entry!r} is not KEY=limit with a KEY of {known}")
        chosen[key.upper()] = limit
    return Rates({key: _item(key, limit) for key, limit in chosen.items()})


def _item(key: str, text: str) -> RateLimitItem:
    try:
        item = parse(text)
    except ValueError as error:
        raise ValueError(f"{key}={text!r} is not a rate limit like 60/minute") from error
    # The namespace keeps each budget's keys apart, and readable in Redis.
    return type(item)(item.amount, item.multiples, namespace=key.lower())
