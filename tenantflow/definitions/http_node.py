"""The `http` node type: one HTTP call, optionally authenticated with a tenant's provider key.

Config (checked by `check_settings`, which is pure):
- `url` (required): an absolute http(s) URL, at most 2048 characters;
- `method`: GET (default), HEAD, POST, PUT, PATCH, DELETE or OPTIONS, in any case;
- `headers`: an object of header names to string values (no hop-by-hop or framing headers);
- `body`: a string is sent as it is, any other JSON value as JSON (`application/json`);
- `timeoutMs`: 1 to 10000 (default 10000), for the whole exchange, redirects included;
- `providerKeyId`: the global id of one of the tenant's provider keys; its secret is sent as
  `Authorization: Bearer <secret>`, or as the bare value of the header `authHeader` names;
- `failOnError` (default true): a status outside 2xx fails the step; false passes it on.

The output is `{"status", "headers", "body"}`: header names in lowercase (repeated ones joined
with ", "), the body parsed when the response says it is JSON and parses, else text. Where the
request may go, how redirects are followed and how much of the body is read is
`tenantflow.outbound.client`'s business. The secret is replaced by "[redacted]" wherever the
response echoes it, and no message of this module ever contains it.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from typing import Any

import httpx

from tenantflow.definitions.node_base import (
    FieldProblem,
    NodeContext,
    NodeFailure,
    NodeType,
    is_int,
    join_key,
    quote,
)
from tenantflow.global_ids import MAX_LENGTH as GLOBAL_ID_MAX_LENGTH
from tenantflow.outbound.client import OutboundError, OutboundRequest, OutboundResponse, send

METHODS = ("GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS")
TIMEOUT_MAX_MS = 10_000
URL_MAX_CHARS = 2048
HEADERS_MAX = 50
HEADER_VALUE_MAX_CHARS = 8192
DEFAULT_AUTH_HEADER = "Authorization"
REDACTED = "[redacted]"
# RFC 9110 token characters.
_HEADER_NAME = re.compile(r"[!#$%&'*+.^_`|~0-9A-Za-z-]+")
# Visible ASCII, space and tab: what every server takes in a header value.
_HEADER_VALUE = re.compile(r"[\t\x20-\x7e]*")
# Set by the client from the URL and the body, or hop-by-hop: never by a workflow.
_RESERVED_HEADERS = frozenset(
    {
        "host",
        "content-length",
        "transfer-encoding",
        "connection",
        "keep-alive",
        "upgrade",
        "te",
        "trailer",
        "proxy-connection",
        "proxy-authorization",
    }
)


class HttpRequest(NodeType):
    """Calls a URL and outputs the response's status, headers and body."""

    name = "http"
    config_keys = (
        "method",
        "url",
        "headers",
        "body",
        "timeoutMs",
        "providerKeyId",
        "authHeader",
        "failOnError",
    )

    def check_settings(self, config: Mapping[str, object], *, path: str) -> list[FieldProblem]:
        problems = _check_url(config, join_key(path, "url"))
        method = config.get("method", "GET")
        if not isinstance(method, str) or method.upper() not in METHODS:
            problems.append(FieldProblem(join_key(path, "method"), f"must be one of {_methods()}"))
        problems.extend(_check_headers(config.get("headers", {}), join_key(path, "headers")))
        timeout = config.get("timeoutMs", TIMEOUT_MAX_MS)
        if not is_int(timeout) or not 1 <= timeout <= TIMEOUT_MAX_MS:
            message = f"must be an integer from 1 to {TIMEOUT_MAX_MS} (milliseconds)"
            problems.append(FieldProblem(join_key(path, "timeoutMs"), message))
        if not isinstance(config.get("failOnError", True), bool):
            problems.append(FieldProblem(join_key(path, "failOnError"), "must be true or false"))
        problems.extend(_check_credentials(config, path))
        return problems

    async def run(self, config: Mapping[str, Any], input: Any, context: NodeContext) -> Any:
        request = _request(config)
        secret = None
        key_id = config.get("providerKeyId")
        if key_id is not None:
            secret = await context.provider_key_secret(key_id)
            request = _authenticated(request, config.get("authHeader"), secret)
        try:
            response = await send(request, context.outbound)
        except OutboundError as error:
            raise NodeFailure(error.message) from None
        output = _output(response, secret)
        if config.get("failOnError", True) and not 200 <= response.status < 300:
            raise NodeFailure(f"The server answered {response.status} {response.reason}".strip())
        return output


# ---------------------------------------------------------------- config checks


def _methods() -> str:
    return ", ".join(METHODS)


def _check_url(config: Mapping[str, object], url_path: str) -> list[FieldProblem]:
    allowed = f"an absolute http or https URL of at most {URL_MAX_CHARS} characters"
    if "url" not in config:
        return [FieldProblem(url_path, f"is required: {allowed}")]
    url = config["url"]
    if not isinstance(url, str) or not url or len(url) > URL_MAX_CHARS:
        return [FieldProblem(url_path, f"must be {allowed}")]
    if any(c.isspace() or ord(c) < 32 or ord(c) == 127 for c in url):
        return [FieldProblem(url_path, "must not contain spaces or control characters")]
    try:
        parsed = httpx.URL(url)
    except httpx.InvalidURL:
        return [FieldProblem(url_path, f"must be {allowed}")]
    if parsed.scheme not in ("http", "https") or not parsed.host:
        return [FieldProblem(url_path, f"must be {allowed}")]
    return []


def _header_name_problem(name: str, where: str) -> FieldProblem | None:
    if not _HEADER_NAME.fullmatch(name):
        return FieldProblem(where, "is not a valid header name")
    if name.lower() in _RESERVED_HEADERS:
        return FieldProblem(where, "is set by the HTTP client and cannot be given")
    return None


def _check_headers(headers: object, headers_path: str) -> list[FieldProblem]:
    if not isinstance(headers, dict):
        return [FieldProblem(headers_path, "must be an object of header names to strings")]
    if len(headers) > HEADERS_MAX:
        return [FieldProblem(headers_path, f"may hold at most {HEADERS_MAX} headers")]
    problems: list[FieldProblem] = []
    seen: set[str] = set()
    for name, value in headers.items():
        where = join_key(headers_path, name)
        problem = _header_name_problem(name, where)
        if problem is not None:
            problems.append(problem)
        elif name.lower() in seen:
            problems.append(FieldProblem(where, "repeats a header (names ignore case)"))
        seen.add(name.lower())
        if not isinstance(value, str):
            problems.append(FieldProblem(where, "must be a string"))
        elif len(value) > HEADER_VALUE_MAX_CHARS or not _HEADER_VALUE.fullmatch(value):
            message = f"must be printable ASCII of at most {HEADER_VALUE_MAX_CHARS} characters"
            problems.append(FieldProblem(where, message))
    return problems


def _check_credentials(config: Mapping[str, object], path: str) -> list[FieldProblem]:
    key_path, header_path = join_key(path, "providerKeyId"), join_key(path, "authHeader")
    key_id = config.get("providerKeyId")
    if key_id is not None and (
        not isinstance(key_id, str) or not 1 <= len(key_id) <= GLOBAL_ID_MAX_LENGTH
    ):
        return [FieldProblem(key_path, "must be the id of a provider key")]
    if "authHeader" not in config:
        auth_header = DEFAULT_AUTH_HEADER
    elif key_id is None:
        return [FieldProblem(header_path, "needs providerKeyId: it names where the key goes")]
    elif not isinstance(config["authHeader"], str):
        return [FieldProblem(header_path, "must be a header name")]
    else:
        auth_header = config["authHeader"]
        problem = _header_name_problem(auth_header, header_path)
        if problem is not None:
            return [problem]
    headers = config.get("headers", {})
    if key_id is not None and isinstance(headers, dict):
        for name in headers:
            if isinstance(name, str) and name.lower() == auth_header.lower():
                message = f"is set from providerKeyId; remove it here or name {quote(name)} apart"
                return [FieldProblem(join_key(join_key(path, "headers"), name), message)]
    return []


# ---------------------------------------------------------------- running


def _request(config: Mapping[str, Any]) -> OutboundRequest:
    headers = dict(config.get("headers", {}))
    content = None
    body = config.get("body")
    if body is not None:
        if isinstance(body, str):
            content = body.encode()
            _default_header(headers, "Content-Type", "text/plain; charset=utf-8")
        else:
            content = json.dumps(body, ensure_ascii=False, separators=(",", ":")).encode()
            _default_header(headers, "Content-Type", "application/json")
    return OutboundRequest(
        method=str(config.get("method", "GET")).upper(),
        url=config["url"],
        headers=headers,
        content=content,
        timeout_seconds=config.get("timeoutMs", TIMEOUT_MAX_MS) / 1000,
    )


def _default_header(headers: dict[str, str], name: str, value: str) -> None:
    if not any(existing.lower() == name.lower() for existing in headers):
        headers[name] = value


def _authenticated(
    request: OutboundRequest, auth_header: str | None, secret: str
) -> OutboundRequest:
    if not _HEADER_VALUE.fullmatch(secret):
        # Never echo it: the message reaches the step's error.
        raise NodeFailure("The provider key's secret cannot be sent in an HTTP header")
    name = auth_header or DEFAULT_AUTH_HEADER
    value = f"Bearer {secret}" if name.lower() == DEFAULT_AUTH_HEADER.lower() else secret
    return OutboundRequest(
        method=request.method,
        url=request.url,
        headers={**request.headers, name: value},
        content=request.content,
        timeout_seconds=request.timeout_seconds,
        credential_headers=frozenset({name}),
    )


def _output(response: OutboundResponse, secret: str | None) -> dict[str, Any]:
    headers: dict[str, str] = {}
    for name, value in response.headers:
        key = name.lower()
        headers[key] = f"{headers[key]}, {value}" if key in headers else value
    return {
        "status": response.status,
        "headers": redact(headers, secret),
        "body": redact(_body(response), secret),
    }


def _body(response: OutboundResponse) -> Any:
    charset = "utf-8"
    media_type, _, parameters = response.content_type.partition(";")
    for parameter in parameters.split(";"):
        key, _, value = parameter.strip().partition("=")
        if key.lower() == "charset" and value:
            charset = value.strip('"')
    try:
        text = response.body.decode(charset, errors="replace")
    except LookupError:  # a charset Python does not know
        text = response.body.decode("utf-8", errors="replace")
    # A JSON column cannot store NUL characters (PostgreSQL's jsonb refuses them).
    text = text.replace("\x00", "\ufffd")
    media_type = media_type.strip().lower()
    if media_type == "application/json" or media_type.endswith("+json"):
        try:
            return json.loads(text, parse_constant=_refuse_constant)
        except (ValueError, RecursionError):  # not JSON after all, or absurdly deep
            return text
    return text


def _refuse_constant(name: str) -> Any:
    """NaN and Infinity are not JSON, and a JSON column cannot store them."""
    raise ValueError(name)


def redact(value: Any, secret: str | None) -> Any:
    """`value` with every occurrence of `secret` in its strings (keys too) replaced."""
    if not secret:
        return value
    if isinstance(value, str):
        return value.replace(secret, REDACTED)
    if isinstance(value, dict):
        return {redact(k, secret): redact(v, secret) for k, v in value.items()}
    if isinstance(value, list):
        return [redact(item, secret) for item in value]
    return value
