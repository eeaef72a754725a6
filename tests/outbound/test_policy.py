"""Which addresses the http node may reach: the private-address rule and its allow-list."""

from __future__ import annotations

import ipaddress

import pytest

from tenantflow.outbound.policy import AllowListError, OutboundPolicy

DEFAULT = OutboundPolicy()

REFUSED = [
    ("127.0.0.1", "a loopback address"),
    ("127.8.9.10", "a loopback address"),
    ("::1", "a loopback address"),
    ("10.1.2.3", "a private address"),
    ("172.16.0.1", "a private address"),
    ("192.168.1.1", "a private address"),
    ("fd12:3456::1", "a private address"),
    ("169.254.10.10", "a link-local address"),
    ("fe80::1", "a link-local address"),
    ("100.64.0.1", "a reserved address"),  # shared address space (carrier-grade NAT)
    ("0.0.0.0", "a private address"),  # noqa: S104  (an address to refuse, not to bind)
    ("224.0.0.1", "a multicast address"),
    ("::ffff:10.0.0.1", "a private address"),  # IPv4-mapped
    ("64:ff9b::a00:1", "a private address"),  # NAT64 of 10.0.0.1
    ("2002:a00:1::", "a private address"),  # 6to4 of 10.0.0.1
    ("169.254.169.254", "a cloud metadata address"),
    ("fd00:ec2::254", "a cloud metadata address"),
    ("100.100.100.200", "a cloud metadata address"),
    ("192.0.0.192", "a cloud metadata address"),  # globally routable, refused all the same
]


@pytest.mark.parametrize(("address", "kind"), REFUSED, ids=[a for a, _ in REFUSED])
def test_addresses_that_are_not_public_are_refused(address: str, kind: str) -> None:
    refusal = DEFAULT.refuses("api.example", ipaddress.ip_address(address))
    assert refusal is not None
    assert refusal.endswith(kind), refusal
    assert "api.example resolves to" in refusal


@pytest.mark.parametrize(
    "address", ["8.8.8.8", "1.1.1.1", "2001:4860:4860::8888", "64:ff9b::808:808"]
)
def test_public_addresses_are_reachable(address: str) -> None:
    assert DEFAULT.refuses("api.example", ipaddress.ip_address(address)) is None


@pytest.mark.parametrize(
    "host", ["metadata.google.internal", "METADATA.google.internal.", "metadata", "instance-data"]
)
def test_metadata_names_are_refused_before_any_lookup(host: str) -> None:
    refusal = DEFAULT.refuses_host(host)
    assert refusal is not None
    assert "cloud metadata endpoint" in refusal
    assert DEFAULT.refuses_host("api.example") is None


def test_a_literal_address_is_named_as_it_is() -> None:
    assert DEFAULT.refuses("127.0.0.1", ipaddress.ip_address("127.0.0.1")) == (
        "127.0.0.1 is a loopback address"
    )


def test_the_allow_list_opens_networks_addresses_and_names() -> None:
    policy = OutboundPolicy.parse(["10.0.0.0/8", "127.0.0.1", "[::1]", "Internal.Example."])
    for address in ("10.20.30.40", "127.0.0.1", "::1", "::ffff:127.0.0.1"):
        assert policy.refuses("x.example", ipaddress.ip_address(address)) is None, address
    # a named host may resolve anywhere but to a metadata address
    assert policy.refuses("internal.example", ipaddress.ip_address("192.168.0.9")) is None
    assert policy.refuses("internal.example", ipaddress.ip_address("169.254.169.254"))
    # and what is not listed stays refused
    assert policy.refuses("x.example", ipaddress.ip_address("127.0.0.2"))
    assert policy.refuses("x.example", ipaddress.ip_address("192.168.0.9"))


def test_a_network_does_not_open_the_metadata_address_inside_it_but_the_address_does() -> None:
    wide = OutboundPolicy.parse(["169.254.0.0/16"])
    assert wide.refuses("x", ipaddress.ip_address("169.254.1.1")) is None
    assert wide.refuses("x", ipaddress.ip_address("169.254.169.254"))
    exact = OutboundPolicy.parse(["169.254.169.254"])
    assert exact.refuses("x", ipaddress.ip_address("169.254.169.254")) is None
    named = OutboundPolicy.parse(["metadata.google.internal"])
    assert named.refuses_host("metadata.google.internal") is None
    assert (
        named.refuses("metadata.google.internal", ipaddress.ip_address("169.254.169.254")) is None
    )


@pytest.mark.parametrize("entry", ["http://x.example", "x.example:80", "user@x", ".example", "a b"])
def test_allow_list_entries_that_are_no_host_or_network_are_refused(entry: str) -> None:
    with pytest.raises(AllowListError, match="TENANTFLOW_HTTP_ALLOW"):
        OutboundPolicy.parse([entry])
