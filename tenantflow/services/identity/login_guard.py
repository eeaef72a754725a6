"""Password checks under the login throttle (tenantflow/auth/throttle.py).

Every check of a password (log-in, sign-up with an existing email, password change) first asks the
throttle, which limits failures per account and per client address, and records each failure. An
email without an account costs the same Argon2 time and gets the same answer as a wrong password;
its failures count like any other account's, so a refusal by the throttle tells nothing either.

The throttle keeps its counts in process memory while Redis fails (`protection/storage.py`); should
even that fail, the attempt is allowed (and logged): a storage outage must not lock every user
out. A refusal is a GraphQL error with `extensions.code` RATE_LIMITED and
`retryAfter` (seconds), as the rate limits of the contract are.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

from limits.errors import StorageError

from tenantflow.auth import passwords
from tenantflow.auth.throttle import LoginThrottle
from tenantflow.db.models import User
from tenantflow.errors import ErrorCode, Refusal

log = logging.getLogger(__name__)

UNKNOWN_ADDRESS = "unknown"


@dataclass(frozen=True, slots=True)
class LoginGuard:
    """The throttle for one attempt: one account from one address."""

    throttle: LoginThrottle
    email: str
    address: str

    @classmethod
    def of(cls, throttle: LoginThrottle, email: str, address: str | None) -> LoginGuard:
        return cls(throttle, email, address or UNKNOWN_ADDRESS)

    async def verify(self, user: User | None, password: str) -> bool:
        """Check `user`'s password (None: no account); failures count, a success clears them."""
        await self._check()
        if await passwords.verify_password_of(user.password_hash if user else None, password):
            await self._succeeded()
            return True
        await self._failed()
        return False

    async def _check(self) -> None:
        try:
            wait = await self.throttle.check(email=self.email, address=self.address)
        except StorageError:
            log.warning("login throttle storage unavailable: attempt allowed")
            return
        if wait is not None:
            raise Refusal(
                f"Too many failed attempts; try again in {wait} seconds",
                ErrorCode.RATE_LIMITED,
                retryAfter=wait,
            )

    async def _failed(self) -> None:
        try:
            await self.throttle.record_failure(email=self.email, address=self.address)
        except StorageError:
            log.warning("login throttle storage unavailable: failure not counted")

    async def _succeeded(self) -> None:
        try:
            await self.throttle.reset_account(email=self.email, address=self.address)
        except StorageError:
            log.warning("login throttle storage unavailable: failures not cleared")
