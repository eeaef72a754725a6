"""The http node's config, checked when a definition is validated (pure: nothing is called)."""

from __future__ import annotations

from typing import Any

import pytest

from tenantflow.definitions.definition import validate_definition
from tenantflow.global_ids import encode_global_id

C = "input.definition.nodes[0].config"
KEY = encode_global_id("ProviderKey", "0b4f1d8e-8f0a-4c52-9e49-3b1c1d2e3f40")


def problems_of(config: Any) -> list[tuple[str, str]]:
    definition = {"nodes": [{"id": "call", "type": "http", "config": config}]}
    return [(p.field, p.message) for p in validate_definition(definition)]


VALID: list[dict[str, Any]] = [
    {"url": "https://api.example.com/v1/items"},
    {"url": "http://10.0.0.1:8080/x"},  # addresses are judged when it runs, not here
    {
        "method": "post",
        "url": "https://api.example.com/v1/items?x=1",
        "headers": {"Accept": "application/json", "X-Trace": "abc 123"},
        "body": {"name": "x", "tags": [1, 2]},
        "timeoutMs": 10_000,
        "providerKeyId": KEY,
        "authHeader": "X-Api-Key",
        "failOnError": False,
    },
    {"url": "https://api.example.com/", "body": "plain text", "timeoutMs": 1},
    {"url": "https://api.example.com/", "providerKeyId": "not-even-an-id"},  # fails when it runs
]


@pytest.mark.parametrize("config", VALID)
def test_valid_configs_have_no_problems(config: dict[str, Any]) -> None:
    assert problems_of(config) == []


INVALID: list[tuple[str, Any, list[tuple[str, str]]]] = [
    ("no url", {}, [(f"{C}.url", "is required: an absolute http or https URL")]),
    ("ftp url", {"url": "ftp://files.example/x"}, [(f"{C}.url", "must be an absolute http")]),
    ("relative url", {"url": "/v1/items"}, [(f"{C}.url", "must be an absolute http")]),
    ("url with space", {"url": "https://a.example/x y"}, [(f"{C}.url", "must not contain")]),
    ("long url", {"url": "https://a.example/" + "x" * 2048}, [(f"{C}.url", "at most 2048")]),
    (
        "unknown method",
        {"url": "https://a.example", "method": "BREW"},
        [(f"{C}.method", "must be one of GET, HEAD, POST, PUT, PATCH, DELETE, OPTIONS")],
    ),
    (
        "timeout too long",
        {"url": "https://a.example", "timeoutMs": 10_001},
        [(f"{C}.timeoutMs", "must be an integer from 1 to 10000 (milliseconds)")],
    ),
    (
        "timeout a float",
        {"url": "https://a.example", "timeoutMs": 1.5},
        [(f"{C}.timeoutMs", "must be an integer")],
    ),
    (
        "headers a list",
        {"url": "https://a.example", "headers": ["a"]},
        [(f"{C}.headers", "must be an object of header names to strings")],
    ),
    (
        "bad header name, value and reserved name",
        {
            "url": "https://a.example",
            "headers": {"Bad Name": "x", "X-Ok": "line\nbreak", "Host": "evil", "X-N": 1},
        },
        [
            (f'{C}.headers["Bad Name"]', "is not a valid header name"),
            (f'{C}.headers["X-Ok"]', "must be printable ASCII"),
            (f"{C}.headers.Host", "is set by the HTTP client"),
            (f'{C}.headers["X-N"]', "must be a string"),
        ],
    ),
    (
        "failOnError not a boolean",
        {"url": "https://a.example", "failOnError": "no"},
        [(f"{C}.failOnError", "must be true or false")],
    ),
    (
        "providerKeyId not a string",
        {"url": "https://a.example", "providerKeyId": 7},
        [(f"{C}.providerKeyId", "must be the id of a provider key")],
    ),
    (
        "authHeader without a key",
        {"url": "https://a.example", "authHeader": "X-Api-Key"},
        [(f"{C}.authHeader", "needs providerKeyId")],
    ),
    (
        "authHeader not a header name",
        {"url": "https://a.example", "providerKeyId": KEY, "authHeader": "X Key"},
        [(f"{C}.authHeader", "is not a valid header name")],
    ),
    (
        "the key's header also given",
        {"url": "https://a.example", "providerKeyId": KEY, "headers": {"authorization": "x"}},
        [(f"{C}.headers.authorization", "is set from providerKeyId")],
    ),
    (
        "unknown key",
        {"url": "https://a.example", "secret": "x"},
        [(f"{C}.secret", "is not allowed; http config allows method, url, headers")],
    ),
]


@pytest.mark.parametrize(
    ("config", "expected"), [(c, e) for _, c, e in INVALID], ids=[n for n, _, _ in INVALID]
)
def test_invalid_configs_name_each_field(config: Any, expected: list[tuple[str, str]]) -> None:
    found = problems_of(config)
    assert [field for field, _ in found] == [field for field, _ in expected], found
    for (_, message), (_, fragment) in zip(found, expected, strict=True):
        assert fragment in message, (message, fragment)
