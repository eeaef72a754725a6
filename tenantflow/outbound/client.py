"""One outbound HTTP exchange that keeps to an `OutboundPolicy`, redirects included.

httpx sends the requests; this module decides where they may go:
- each hop's host is resolved here, every address it resolves to is checked, and the request is
  sent to a checked address itself (the URL's host replaced by it, with the `Host` header and the
  TLS server name kept), so a second lookup cannot answer differently (DNS rebinding);
- redirects are followed here, at most `MAX_REDIRECTS` of them, each hop checked the same way; a
  hop to another origin drops the credential headers (and `Authorization`, `Cookie`);
- the response body is read up to `MAX_BODY_BYTES`, and no further;
- proxies from the environment are ignored (the check would otherwise judge the proxy), and no
  connection is kept alive between hops (a TLS connection made for one name is never reused for
  another name at the same address).
Failures raise `OutboundError` with a message meant for users: it never carries header values.
httpcore's DEBUG trace is dropped: it prints response headers, which a server may fill with the
credential it was sent.
"""

from __future__ import annotations

import asyncio
import ipaddress
import logging
import socket
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field

import httpx

from tenantflow.outbound.policy import IPAddress, OutboundPolicy

MAX_REDIRECTS = 5
MAX_BODY_BYTES = 256 * 1024
USER_AGENT = "tenantflow-http-node/1"
_REDIRECTS = frozenset({301, 302, 303, 307, 308})
_ALWAYS_CROSS_ORIGIN_DROPPED = frozenset({"authorization", "cookie", "proxy-authorization"})
_BODY_HEADERS = frozenset({"content-type", "content-length", "content-encoding"})
_INVALID_REDIRECT = "A redirect pointed to an invalid URL"

Resolver = Callable[[str, int], Awaitable[list[IPAddress]]]
# Where httpcore logs its trace (its response-header lines can echo a secret), at any level set.
_HTTPCORE_LOGGERS = (
    "httpcore.connection",
    "httpcore.http11",
    "httpcore.http2",
    "httpcore.proxy",
    "httpcore.socks",
)


def _above_debug(record: logging.LogRecord) -> bool:
    return record.levelno > logging.DEBUG


for _name in _HTTPCORE_LOGGERS:
    logging.getLogger(_name).addFilter(_above_debug)


class OutboundError(Exception):
    """The exchange failed; `message` is safe to show (no header values, no secrets)."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class AddressRefused(OutboundError):
    pass


class OutboundTimeout(OutboundError):
    pass


@dataclass(frozen=True, slots=True)
class OutboundRequest:
    method: str
    url: str
    headers: Mapping[str, str] = field(default_factory=dict)
    content: bytes | None = None
    timeout_seconds: float = 10.0
    # Names (any case) of headers that carry credentials: not sent on to another origin.
    credential_headers: frozenset[str] = frozenset()


@dataclass(frozen=True, slots=True)
class OutboundResponse:
    status: int
    reason: str
    headers: list[tuple[str, str]]
    body: bytes
    url: str  # the last hop's URL, as the redirects gave it

    @property
    def content_type(self) -> str:
        for name, value in self.headers:
            if name.lower() == "content-type":
                return value
        return ""


async def resolve(host: str, port: int) -> list[IPAddress]:
    """The addresses `host` resolves to, in the resolver's order, without duplicates."""
    loop = asyncio.get_running_loop()
    try:
        infos = await loop.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except (socket.gaierror, UnicodeError):
        raise OutboundError(f"{host} could not be resolved") from None
    addresses: list[IPAddress] = []
    for *_, sockaddr in infos:
        address = ipaddress.ip_address(str(sockaddr[0]).partition("%")[0])  # no IPv6 scope id
        if address not in addresses:
            addresses.append(address)
    return addresses


async def send(
    request: OutboundRequest,
    policy: OutboundPolicy,
    *,
    resolver: Resolver = resolve,
    max_redirects: int = MAX_REDIRECTS,
    max_body_bytes: int = MAX_BODY_BYTES,
) -> OutboundResponse:
    """The final response of `request`, after at most `max_redirects` redirects, all within
    `request.timeout_seconds`."""
    exchange = _Exchange(policy, resolver, max_body_bytes, request.credential_headers)
    timeout = httpx.Timeout(request.timeout_seconds)
    limits = httpx.Limits(max_keepalive_connections=0)
    headers = {"User-Agent": USER_AGENT, "Accept-Encoding": "identity"}
    try:
        async with (
            asyncio.timeout(request.timeout_seconds),
            httpx.AsyncClient(
                trust_env=False, timeout=timeout, limits=limits, headers=headers
            ) as client,
        ):
            return await exchange.run(client, request, max_redirects)
    except (TimeoutError, httpx.TimeoutException):
        limit = f"{request.timeout_seconds * 1000:g} ms"
        raise OutboundTimeout(f"The request timed out after {limit}") from None


class _Exchange:
    def __init__(
        self,
        policy: OutboundPolicy,
        resolver: Resolver,
        max_body_bytes: int,
        credential_headers: frozenset[str],
    ) -> None:
        self.policy = policy
        self.resolver = resolver
        self.max_body_bytes = max_body_bytes
        self.credentials = {name.lower() for name in credential_headers}

    async def run(
        self, client: httpx.AsyncClient, request: OutboundRequest, max_redirects: int
    ) -> OutboundResponse:
        method, content = request.method.upper(), request.content
        headers = dict(request.headers)
        try:
            url = httpx.URL(request.url)
        except httpx.InvalidURL:
            raise OutboundError("The URL is not valid") from None
        for _ in range(max_redirects + 1):
            response = await self.hop(client, method, url, headers, content)
            location = _redirect_location(response)
            if location is None:
                return response
            target = _join(url, location)
            if not _same_origin(url, target):
                headers = {
                    name: value
                    for name, value in headers.items()
                    if name.lower() not in self.credentials | _ALWAYS_CROSS_ORIGIN_DROPPED
                }
            if _becomes_get(response.status, method):
                method, content = "GET", None
                headers = {k: v for k, v in headers.items() if k.lower() not in _BODY_HEADERS}
            url = target
        raise OutboundError(f"Too many redirects (more than {max_redirects})")

    async def hop(
        self,
        client: httpx.AsyncClient,
        method: str,
        url: httpx.URL,
        headers: Mapping[str, str],
        content: bytes | None,
    ) -> OutboundResponse:
        """One request, sent to the first checked address of the URL's host that connects."""
        addresses = await self.addresses(url)
        hop_headers = {**headers, "Host": url.netloc.decode("ascii")}
        by_name = url.scheme == "https" and _literal(url.host) is None
        extensions = {"sni_hostname": url.host} if by_name else {}
        for address in addresses:
            target = url.copy_with(host=str(address))
            try:
                async with client.stream(
                    method, target, headers=hop_headers, content=content, extensions=extensions
                ) as response:
                    return await self.read(url, response)
            except httpx.ConnectError:
                continue  # the next checked address, if any
            except httpx.TimeoutException:
                raise
            except httpx.InvalidURL:  # httpx parses a redirect's Location even when not following
                raise OutboundError(_INVALID_REDIRECT) from None
            except httpx.HTTPError:
                raise OutboundError(f"The exchange with {url.host} failed") from None
        raise OutboundError(f"Could not connect to {url.host}")

    async def addresses(self, url: httpx.URL) -> list[IPAddress]:
        """Every address of the URL's host, each checked: one refused address refuses them all
        (a name that also points inside is not to be trusted)."""
        literal = _literal(url.host)
        if literal is not None:
            self.check(url.host, literal)
            return [literal]
        refusal = self.policy.refuses_host(url.host)
        if refusal is not None:
            raise AddressRefused(f"Refused: {refusal}")
        port = url.port or (443 if url.scheme == "https" else 80)
        addresses = await self.resolver(url.host, port)
        if not addresses:
            raise OutboundError(f"{url.host} could not be resolved")
        for address in addresses:
            self.check(url.host, address)
        return addresses

    def check(self, host: str, address: IPAddress) -> None:
        refusal = self.policy.refuses(host, address)
        if refusal is not None:
            raise AddressRefused(f"Refused: {refusal}")

    async def read(self, url: httpx.URL, response: httpx.Response) -> OutboundResponse:
        """The response, its body read up to the limit (a redirect's body is not read)."""
        headers = [(name, value) for name, value in response.headers.multi_items()]
        body = b""
        if not _is_redirect(response.status_code, response.headers):
            body = await self.body(response)
        return OutboundResponse(
            status=response.status_code,
            reason=response.reason_phrase,
            headers=headers,
            body=body,
            url=str(url),
        )

    async def body(self, response: httpx.Response) -> bytes:
        too_large = OutboundError(
            f"The response body is larger than {self.max_body_bytes // 1024} KiB"
        )
        declared = response.headers.get("content-length", "")
        if declared.isdigit() and int(declared) > self.max_body_bytes:
            raise too_large
        chunks: list[bytes] = []
        size = 0
        async for chunk in response.aiter_bytes():
            size += len(chunk)
            if size > self.max_body_bytes:
                raise too_large
            chunks.append(chunk)
        return b"".join(chunks)


def _literal(host: str) -> IPAddress | None:
    try:
        return ipaddress.ip_address(host)
    except ValueError:
        return None


def _is_redirect(status: int, headers: httpx.Headers) -> bool:
    return status in _REDIRECTS and "location" in headers


def _redirect_location(response: OutboundResponse) -> str | None:
    if response.status not in _REDIRECTS:
        return None
    for name, value in response.headers:
        if name.lower() == "location":
            return value
    return None


def _join(url: httpx.URL, location: str) -> httpx.URL:
    try:
        target = url.join(location)
    except httpx.InvalidURL:
        raise OutboundError(_INVALID_REDIRECT) from None
    if target.scheme not in ("http", "https") or not target.host:
        raise OutboundError("A redirect pointed to a URL that is not http or https")
    return target


def _origin(url: httpx.URL) -> tuple[str, str, int]:
    return url.scheme, url.host, url.port or (443 if url.scheme == "https" else 80)


def _same_origin(a: httpx.URL, b: httpx.URL) -> bool:
    return _origin(a) == _origin(b)


def _becomes_get(status: int, method: str) -> bool:
    """RFC 9110 with browsers' and httpx's practice: 303 turns anything but HEAD into GET, and
    301/302 turn a POST into GET; 307 and 308 keep the method and body."""
    if status == 303:
        return method != "HEAD"
    return status in (301, 302) and method == "POST"
