"""The outbound client against a local server: pinning, redirects, limits.

No other host is ever contacted: names resolve through a fake resolver to 127.0.0.1, and every
refusal happens before a connection is made."""

from __future__ import annotations

import ipaddress
import json
import time
from collections.abc import Iterator
from urllib.parse import quote

import pytest

from tenantflow.outbound.client import (
    AddressRefused,
    OutboundError,
    OutboundRequest,
    OutboundTimeout,
    send,
)
from tenantflow.outbound.policy import IPAddress, OutboundPolicy
from tests.http_echo import EchoServer, echo_server

LOOPBACK = OutboundPolicy.parse(["127.0.0.1"])


@pytest.fixture(scope="module")
def server() -> Iterator[EchoServer]:
    with echo_server() as echo:
        yield echo


class FakeResolver:
    """Names to addresses, counting lookups; answers `later` after the first lookup of a name
    (a rebinding DNS server)."""

    def __init__(self, answers: dict[str, list[str]], later: list[str] | None = None) -> None:
        self.answers = answers
        self.later = later
        self.lookups: list[str] = []

    async def __call__(self, host: str, port: int) -> list[IPAddress]:
        answer = self.later if self.later is not None and host in self.lookups else None
        self.lookups.append(host)
        return [ipaddress.ip_address(a) for a in (answer or self.answers[host])]


def get(url: str, **fields: object) -> OutboundRequest:
    return OutboundRequest(method=str(fields.pop("method", "GET")), url=url, **fields)  # type: ignore[arg-type]


def echoed(body: bytes) -> dict[str, object]:
    value: dict[str, object] = json.loads(body)
    return value


async def test_a_name_is_resolved_once_per_hop_and_the_checked_address_is_used(
    server: EchoServer,
) -> None:
    # given a name whose DNS answer changes to a private address after the first lookup
    port = server.base_url.rsplit(":", 1)[1]
    resolver = FakeResolver({"service.test": ["127.0.0.1"]}, later=["10.0.0.5"])
    # when
    response = await send(get(f"http://service.test:{port}/echo"), LOOPBACK, resolver=resolver)
    # then the request went to the address that was checked, under its own name
    assert response.status == 200
    assert resolver.lookups == ["service.test"]
    assert server.requests[-1].headers["Host"] == f"service.test:{port}"


async def test_one_refused_address_of_a_name_refuses_it(server: EchoServer) -> None:
    seen = len(server.requests)
    resolver = FakeResolver({"mixed.test": ["127.0.0.1", "10.0.0.5"]})
    port = server.base_url.rsplit(":", 1)[1]
    with pytest.raises(AddressRefused, match=r"mixed.test resolves to 10.0.0.5, a private address"):
        await send(get(f"http://mixed.test:{port}/echo"), LOOPBACK, resolver=resolver)
    assert len(server.requests) == seen


async def test_loopback_is_refused_unless_allowed(server: EchoServer) -> None:
    seen = len(server.requests)
    with pytest.raises(AddressRefused, match=r"^Refused: 127.0.0.1 is a loopback address$"):
        await send(get(server.url("/echo")), OutboundPolicy())
    assert len(server.requests) == seen
    resolver = FakeResolver({"localhost": ["127.0.0.1"]})
    port = server.base_url.rsplit(":", 1)[1]
    with pytest.raises(AddressRefused, match=r"localhost resolves to 127\.0\.0\.1"):
        await send(get(f"http://localhost:{port}/"), OutboundPolicy(), resolver=resolver)


@pytest.mark.parametrize(
    ("target", "refusal"),
    [
        ("http://127.0.0.2:{port}/echo", "127.0.0.2 is a loopback address"),
        ("http://[::1]:{port}/echo", "::1 is a loopback address"),
        ("http://metadata.google.internal/computeMetadata/v1/", "a cloud metadata endpoint"),
    ],
)
async def test_a_redirect_to_a_refused_address_is_refused(
    server: EchoServer, target: str, refusal: str
) -> None:
    port = server.base_url.rsplit(":", 1)[1]
    location = quote(target.format(port=port), safe="")
    with pytest.raises(AddressRefused, match=refusal):
        await send(get(server.url(f"/redirect?to={location}")), LOOPBACK)


async def test_redirects_are_followed_up_to_the_limit(server: EchoServer) -> None:
    once = server.url(f"/redirect?to={quote('/echo', safe='')}")
    assert (await send(get(once), LOOPBACK)).status == 200
    seen = len(server.requests)
    with pytest.raises(OutboundError, match=r"Too many redirects \(more than 5\)"):
        await send(get(server.url("/loop")), LOOPBACK)
    assert len(server.requests) - seen == 6  # the first request and five redirects


async def test_a_303_turns_a_post_into_a_get_and_a_307_keeps_it(server: EchoServer) -> None:
    post = {
        "method": "POST",
        "content": b'{"a":1}',
        "headers": {"Content-Type": "application/json"},
    }
    to_echo = quote("/echo", safe="")
    seen_other = await send(get(server.url(f"/redirect?status=303&to={to_echo}"), **post), LOOPBACK)
    assert (echoed(seen_other.body)["method"], echoed(seen_other.body)["body"]) == ("GET", "")
    kept = await send(get(server.url(f"/redirect?status=307&to={to_echo}"), **post), LOOPBACK)
    assert (echoed(kept.body)["method"], echoed(kept.body)["body"]) == ("POST", '{"a":1}')


async def test_credentials_go_to_the_same_origin_only(server: EchoServer) -> None:
    port = server.base_url.rsplit(":", 1)[1]
    resolver = FakeResolver({"other.test": ["127.0.0.1"]})
    credentials = {
        "headers": {"X-Key": "s3cret", "Authorization": "Bearer s3cret", "X-Plain": "kept"},
        "credential_headers": frozenset({"x-key"}),
    }
    same = quote("/echo", safe="")
    response = await send(get(server.url(f"/redirect?to={same}"), **credentials), LOOPBACK)
    assert echoed(response.body)["headers"]["X-Key"] == "s3cret"  # type: ignore[index]
    other = quote(f"http://other.test:{port}/echo", safe="")
    response = await send(
        get(server.url(f"/redirect?to={other}"), **credentials), LOOPBACK, resolver=resolver
    )
    headers = echoed(response.body)["headers"]
    assert isinstance(headers, dict)
    assert "X-Key" not in headers
    assert "Authorization" not in headers
    assert headers["X-Plain"] == "kept"


async def test_the_body_is_read_up_to_the_limit_only(server: EchoServer) -> None:
    assert len((await send(get(server.url("/big?bytes=262144")), LOOPBACK)).body) == 262144
    with pytest.raises(OutboundError, match=r"larger than 256 KiB"):
        await send(get(server.url("/big?bytes=262145")), LOOPBACK)
    with pytest.raises(OutboundError, match=r"larger than 1 KiB"):
        await send(get(server.url("/big?bytes=2000")), LOOPBACK, max_body_bytes=1024)


async def test_the_timeout_covers_the_whole_exchange(server: EchoServer) -> None:
    started = time.monotonic()
    with pytest.raises(OutboundTimeout, match=r"^The request timed out after 300 ms$"):
        await send(get(server.url("/slow?ms=3000"), timeout_seconds=0.3), LOOPBACK)
    assert time.monotonic() - started < 2


@pytest.mark.parametrize(
    ("location", "refusal"),
    [
        ("ftp://files.example/x", "not http or https"),
        ("mailto:a@b.example", "an invalid URL"),
    ],
)
async def test_a_redirect_away_from_http_is_refused(
    server: EchoServer, location: str, refusal: str
) -> None:
    with pytest.raises(OutboundError, match=refusal):
        await send(get(server.url(f"/redirect?to={quote(location, safe='')}")), LOOPBACK)


async def test_proxies_of_the_environment_are_not_used(
    server: EchoServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    # a proxy would be the one judged by the policy; it must not be asked at all
    monkeypatch.setenv("HTTP_PROXY", "http://127.0.0.1:9")
    monkeypatch.setenv("ALL_PROXY", "http://127.0.0.1:9")
    assert (await send(get(server.url("/echo")), LOOPBACK)).status == 200
