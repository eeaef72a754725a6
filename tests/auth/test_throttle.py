"""Login throttle: failures are limited per account from one address and per address, in memory
and in Redis (and in memory while Redis fails)."""

from __future__ import annotations

import asyncio
import hashlib
from collections.abc import AsyncIterator

import pytest
import redis
from limits.aio.storage import MemoryStorage, RedisStorage

from tenantflow.auth.throttle import (
    LoginThrottle,
    account_identifier,
    address_identifier,
    normalize_address,
)
from tests.redis_helpers import REDIS_URL

EMAIL = "alice@example.com"
ADDRESS = "203.0.113.7"


async def fail(
    throttle: LoginThrottle, times: int, *, email: str = EMAIL, address: str = ADDRESS
) -> None:
    for _ in range(times):
        await throttle.record_failure(email=email, address=address)


# The Redis fixtures (tests/redis_helpers.py) are synchronous on purpose: pytest-asyncio cannot
# resolve an async fixture through request.getfixturevalue() from inside a running loop, and
# `throttle` picks its backend so.
@pytest.fixture(params=["memory", "redis"])
async def throttle(request: pytest.FixtureRequest) -> AsyncIterator[LoginThrottle]:
    if request.param == "memory":
        instance = LoginThrottle()
    else:
        prefix: str = request.getfixturevalue("redis_prefix")
        instance = LoginThrottle(storage_uri=REDIS_URL, key_prefix=prefix)
    yield instance
    await instance.aclose()


async def test_storage_follows_the_uri(throttle: LoginThrottle) -> None:
    expected = MemoryStorage if throttle.storage.__class__ is MemoryStorage else RedisStorage
    assert isinstance(throttle.storage, expected)
    assert await throttle.storage.check()


async def test_eleventh_failure_within_a_minute_is_refused(throttle: LoginThrottle) -> None:
    for _ in range(10):
        assert await throttle.check(email=EMAIL, address=ADDRESS) is None
        await throttle.record_failure(email=EMAIL, address=ADDRESS)
    retry_after = await throttle.check(email=EMAIL, address=ADDRESS)
    assert retry_after is not None
    assert 1 <= retry_after <= 60


async def test_check_does_not_consume(throttle: LoginThrottle) -> None:
    for _ in range(50):
        assert await throttle.check(email=EMAIL, address=ADDRESS) is None


async def test_other_accounts_and_addresses_are_unaffected(throttle: LoginThrottle) -> None:
    await fail(throttle, 10)
    assert await throttle.check(email=EMAIL, address=ADDRESS) is not None
    assert await throttle.check(email="bob@example.com", address=ADDRESS) is None
    assert await throttle.check(email="bob@example.com", address="198.51.100.1") is None
    # The guesser's failures do not lock the owner out from the owner's own address.
    assert await throttle.check(email=EMAIL, address="198.51.100.1") is None


async def test_emails_are_normalized(throttle: LoginThrottle) -> None:
    await fail(throttle, 5, email="  Alice@Example.COM ")
    await fail(throttle, 5, email="alice@example.com")
    assert await throttle.check(email="ALICE@example.com", address=ADDRESS) is not None


async def test_address_limit_spans_accounts(throttle: LoginThrottle) -> None:
    for index in range(30):
        email = f"user{index}@example.com"
        assert await throttle.check(email=email, address=ADDRESS) is None
        await throttle.record_failure(email=email, address=ADDRESS)
    # No single account is near its limit, but the address has used its 30.
    retry_after = await throttle.check(email="fresh@example.com", address=ADDRESS)
    assert retry_after is not None
    assert 1 <= retry_after <= 60
    assert await throttle.check(email="fresh@example.com", address="198.51.100.1") is None


async def test_reset_account_after_success(throttle: LoginThrottle) -> None:
    await fail(throttle, 10)
    assert await throttle.check(email=EMAIL, address=ADDRESS) is not None
    await throttle.reset_account(email=" ALICE@example.com", address=ADDRESS)
    assert await throttle.check(email=EMAIL, address=ADDRESS) is None


async def test_reset_account_keeps_the_address_count(throttle: LoginThrottle) -> None:
    for index in range(30):
        await throttle.record_failure(email=f"user{index}@example.com", address=ADDRESS)
    await throttle.reset_account(email="user0@example.com", address=ADDRESS)
    assert await throttle.check(email="user0@example.com", address=ADDRESS) is not None


async def test_ipv6_is_counted_per_64(throttle: LoginThrottle) -> None:
    for index in range(30):
        await throttle.record_failure(
            email=f"user{index}@example.com", address=f"2001:db8:0:1::{index:x}"
        )
    assert await throttle.check(email="x@example.com", address="2001:db8:0:1:ffff::1") is not None
    assert await throttle.check(email="x@example.com", address="2001:db8:0:2::1") is None


async def test_window_reopens(request: pytest.FixtureRequest, throttle: LoginThrottle) -> None:
    storage_uri = None if isinstance(throttle.storage, MemoryStorage) else REDIS_URL
    prefix = None if storage_uri is None else request.getfixturevalue("redis_prefix")
    fast = LoginThrottle(
        per_account="2/second",
        per_address="100/second",
        storage_uri=storage_uri,
        **({} if prefix is None else {"key_prefix": prefix}),
    )
    try:
        await fail(fast, 2)
        assert await fast.check(email=EMAIL, address=ADDRESS) == 1
        await asyncio.sleep(1.2)
        assert await fast.check(email=EMAIL, address=ADDRESS) is None
    finally:
        await fast.aclose()


async def test_redis_counts_are_shared_between_processes(redis_prefix: str) -> None:
    first = LoginThrottle(storage_uri=REDIS_URL, key_prefix=redis_prefix)
    second = LoginThrottle(storage_uri=REDIS_URL, key_prefix=redis_prefix)
    try:
        await fail(first, 5)
        await fail(second, 5)
        assert await first.check(email=EMAIL, address=ADDRESS) is not None
        assert await second.check(email=EMAIL, address=ADDRESS) is not None
    finally:
        await first.aclose()
        await second.aclose()


async def test_redis_keys_are_namespaced_and_hold_no_email(
    redis_client: redis.Redis, redis_prefix: str
) -> None:
    throttle = LoginThrottle(storage_uri=REDIS_URL, key_prefix=redis_prefix)
    try:
        await fail(throttle, 1)
    finally:
        await throttle.aclose()
    keys = sorted(key.decode() for key in redis_client.scan_iter(match=f"{redis_prefix}:*"))
    digest = hashlib.sha256(EMAIL.encode()).hexdigest()
    address = hashlib.sha256(ADDRESS.encode()).hexdigest()
    assert keys == sorted(
        [
            f"{redis_prefix}:login/acct:{digest}/addr:{address}/10/1/minute",
            f"{redis_prefix}:login/addr:{address}/30/1/minute",
        ]
    )
    assert not any("alice" in key or ADDRESS in key for key in keys)


async def test_memory_keys_hold_no_email() -> None:
    throttle = LoginThrottle()
    await fail(throttle, 1)
    storage = throttle.storage
    assert isinstance(storage, MemoryStorage)
    assert storage.events  # the moving window keeps its entries here
    assert not any("alice" in key or ADDRESS in key for key in storage.events)


def test_identifiers() -> None:
    digest = hashlib.sha256(b"alice@example.com").hexdigest()
    assert account_identifier(" Alice@Example.com\n") == f"acct:{digest}"
    assert address_identifier("::ffff:203.0.113.7") == address_identifier(ADDRESS)


@pytest.mark.parametrize(
    ("raw", "normalized"),
    [
        ("203.0.113.7", "203.0.113.7"),
        (" 203.0.113.7 ", "203.0.113.7"),
        ("::ffff:203.0.113.7", "203.0.113.7"),
        ("2001:DB8::1", "2001:db8::/64"),
        ("2001:db8:0:0:abcd::1", "2001:db8::/64"),
        ("testclient", "testclient"),
    ],
)
def test_normalize_address(raw: str, normalized: str) -> None:
    assert normalize_address(raw) == normalized


@pytest.mark.parametrize("limit", ["ten per minute", "10/fortnight", ""])
def test_malformed_limit_is_refused(limit: str) -> None:
    with pytest.raises(ValueError, match="invalid login rate limit"):
        LoginThrottle(per_account=limit)


async def test_an_unreachable_redis_counts_in_memory() -> None:
    # given a throttle whose Redis does not answer
    throttle = LoginThrottle(storage_uri="redis://127.0.0.1:1/0", per_account="1/minute")
    try:
        # when a failure is recorded: then it counts, in this process
        await fail(throttle, 1)
        assert await throttle.check(email=EMAIL, address=ADDRESS) is not None
        assert await throttle.check(email=EMAIL, address="198.51.100.4") is None
    finally:
        await throttle.aclose()
