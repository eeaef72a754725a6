"""The contract's LOGIN budget: every signUp, logIn and refreshToken counts against its client
address, and each one that signs an account in counts against that account.

Per address, every attempt counts, successes included (20 sign-ups from one address are 20
tenants). Per account, only sign-ins count: an account's budget is spent by its own successes,
which need its password or its refresh token, so nobody can spend it for the owner and lock them
out; an attempt on an account whose budget is spent is refused before its password is checked
(the answer then tells nothing about the password). Failed passwords have their own, stricter
throttle (`auth/throttle.py`, `login_guard.py`).
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass

from tenantflow.errors import ErrorCode, Refusal
from tenantflow.protection.budgets import Budgets, RateLimited
from tenantflow.protection.keys import account_identifier, address_identifier, user_identifier


def account_key(email: str, user_id: uuid.UUID | None) -> str:
    """An existing account by its id (its email may change), else the email asked for."""
    return user_identifier(user_id) if user_id is not None else account_identifier(email)


@dataclass(frozen=True, slots=True)
class SignInBudget:
    budgets: Budgets | None
    address: str | None

    async def attempt(self) -> None:
        """Count one attempt against the address (RATE_LIMITED when its budget is spent)."""
        if self.budgets is not None:
            await self.budgets.spend_login(address_identifier(self.address))

    async def ensure_open(self, account: str) -> None:
        """Refuse an attempt on an account whose sign-ins used its budget up."""
        if self.budgets is not None and await self.budgets.login_spent(account):
            wait = await self.budgets.login_retry_after(account)
            raise Refusal(
                f"Too many sign-ins to this account; retry in {wait} seconds",
                ErrorCode.RATE_LIMITED,
                retryAfter=wait,
            )

    async def signed_in(self, account: str) -> None:
        """Count a sign-in against the account (RATE_LIMITED when a concurrent one took the
        last of it: the session is not started)."""
        if self.budgets is not None:
            await self.budgets.spend_login(account)


UNLIMITED = SignInBudget(None, None)
__all__ = ["UNLIMITED", "RateLimited", "SignInBudget", "account_key"]
