"""Rerun the attacks of issue 10 ("Protection") against a real server and print the figures.

    .venv/bin/python -m bench.attacks [--database-url URL]

Starts `tenantflow serve` on a fresh SQLite database in a temporary folder (or on the given,
migrated database), in production mode with `TENANTFLOW_TRUSTED_PROXIES=127.0.0.1` so that the
script can speak for many client addresses through `X-Forwarded-For`; signs up the tenants it
needs; then times each refusal, counts what budgets let through, and measures another tenant's
latency and the server's memory around many websockets. Every request goes to 127.0.0.1 only,
in bounded loops. Figures go to stdout; nothing is asserted (the tests do that).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import secrets
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx
from httpx_ws import (
    AsyncWebSocketSession,
    WebSocketDisconnect,
    WebSocketNetworkError,
    aconnect_ws,
)

PROTOCOL = "graphql-transport-ws"
PASSWORD = "a long enough password"  # noqa: S105  (the test accounts' own)
AUDIT_PAGE = "auditLogs(first: 100) { edges { node { id action } } }"
ATTACKS = {
    "1,000 aliases of auditLogs(first: 100)": "{ "
    + " ".join(f"a{i}: {AUDIT_PAGE}" for i in range(1000))
    + " }",
    "300 aliased nested connections": "{ "
    + " ".join(
        f"w{i}: workflows(first: 100) {{ edges {{ node {{ executions(first: 100)"
        " { edges { node { id } } } } } }"
        for i in range(300)
    )
    + " }",
    "nesting 50 deep": "{ " + "a { " * 49 + "b" + " }" * 49 + " }",
    "nesting 100 deep": "{ " + "a { " * 99 + "b" + " }" * 99 + " }",
    "@include(if:true) x 50,000": "{ viewer " + "@include(if: true) " * 50_000 + "{ role } }",
    "300,000 tokens": "{ " + "a " * 300_000 + "}",
    "10,000 aliases of viewer": "{ "
    + " ".join(f"v{i}: viewer {{ role }}" for i in range(10_000))
    + " }",
}


def address(index: int) -> dict[str, str]:
    """Headers that make the server see client address 10.77.x.y."""
    return {"X-Forwarded-For": f"10.77.{index // 250}.{index % 250 + 1}"}


@contextmanager
def server(database_url: str | None) -> Iterator[tuple[str, int]]:
    with tempfile.TemporaryDirectory(prefix="tf-attacks-") as folder:
        url = database_url or f"sqlite+aiosqlite:///{Path(folder) / 'tenantflow.db'}"
        env = {
            **os.environ,
            "TENANTFLOW_DATABASE_URL": url,
            "TENANTFLOW_DATA_DIR": folder,
            "TENANTFLOW_ENV": "production",
            "TENANTFLOW_SECRET_KEY": secrets.token_urlsafe(48),
            "TENANTFLOW_ENCRYPTION_KEYS": secrets.token_urlsafe(32),
            "TENANTFLOW_TRUSTED_PROXIES": "127.0.0.1",
            "TENANTFLOW_EXECUTOR_WORKERS": "0",
        }
        if database_url is None:
            subprocess.run([sys.executable, "-m", "tenantflow.cli", "migrate"], env=env, check=True)
        port = 18000 + secrets.randbelow(2000)
        log = (Path(folder) / "server.log").open("wb")
        process = subprocess.Popen(
            [sys.executable, "-m", "tenantflow.cli", "serve", "--port", str(port)],
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        base = f"http://127.0.0.1:{port}"
        try:
            for _ in range(150):
                try:
                    if httpx.get(f"{base}/healthz", timeout=1).status_code == 200:
                        break
                except httpx.TransportError:
                    time.sleep(0.2)
            yield base, process.pid
        finally:
            process.terminate()
            process.wait(timeout=10)


def rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return 0.0


async def gql(
    http: httpx.AsyncClient,
    query: str,
    variables: dict[str, Any] | None = None,
    *,
    token: str | None = None,
    headers: dict[str, str] | None = None,
) -> tuple[int, dict[str, Any], float]:
    sent = {**(headers or {}), **({"Authorization": f"Bearer {token}"} if token else {})}
    started = time.perf_counter()
    response = await http.post(
        "/graphql", json={"query": query, "variables": variables or {}}, headers=sent
    )
    elapsed = (time.perf_counter() - started) * 1000
    return response.status_code, response.json(), elapsed


async def sign_up(http: httpx.AsyncClient, index: int, plan: str | None = None) -> dict[str, Any]:
    """A new account and tenant (FREE without `plan`; STARTER and PRO start a trial)."""
    email = f"attacks-{index}-{secrets.token_hex(3)}@example.test"
    status, body, _ = await gql(
        http,
        "mutation($in: SignUpInput!) { signUp(input: $in) { ... on AuthPayload"
        " { accessToken refreshToken } } }",
        {
            "in": {
                "email": email,
                "password": PASSWORD,
                "tenantName": f"Attacks {index}",
                "tenantSlug": f"attacks-{index}-{secrets.token_hex(3)}",
                **({"plan": plan} if plan else {}),
            }
        },
        headers=address(1000 + index),
    )
    assert status == 200, body
    return {"email": email, **body["data"]["signUp"]}


def code_of(body: dict[str, Any]) -> str:
    errors = body.get("errors") or [{}]
    extensions = errors[0].get("extensions", {})
    detail = extensions.get("limit")
    return f"{extensions.get('code')}{f' ({detail})' if detail else ''}"


async def refusals(http: httpx.AsyncClient, token: str) -> None:
    print("\n## Query limits: time to the refusal (median of 5, ms)")
    for name, document in ATTACKS.items():
        times = []
        body: dict[str, Any] = {}
        for _ in range(5):
            _, body, elapsed = await gql(http, document, token=token)
            times.append(elapsed)
        size = len(document.encode()) / 1024
        print(f"- {name} ({size:.0f} KiB): {statistics.median(times):.1f} ms, {code_of(body)}")


async def budgets(http: httpx.AsyncClient, free_token: str) -> None:
    print("\n## Budgets")
    statuses = [(await gql(http, "{ viewer { role } }", token=free_token))[0] for _ in range(150)]
    print(
        f"- FREE tenant, 150 requests at once: {statuses.count(200)} x 200, "
        f"{statuses.count(429)} x 429"
    )
    anonymous = [
        (await gql(http, "{ viewer { role } }", headers=address(7)))[0] for _ in range(100)
    ]
    print(
        f"- 100 anonymous requests from one address: {anonymous.count(200)} x 200, "
        f"{anonymous.count(429)} x 429"
    )
    one = address(8)
    signups = []
    for index in range(20):
        status, _, _ = await gql(
            http,
            "mutation($in: SignUpInput!) { signUp(input: $in) { __typename } }",
            {
                "in": {
                    "email": f"flood-{index}-{secrets.token_hex(3)}@example.test",
                    "password": PASSWORD,
                    "tenantName": "Flood",
                    "tenantSlug": f"flood-{index}-{secrets.token_hex(3)}",
                }
            },
            headers=one,
        )
        signups.append(status)
    print(f"- 20 sign-ups from one address: {signups.count(200)} x 200, {signups.count(429)} x 429")


async def login_figures(http: httpx.AsyncClient, owner_email: str) -> None:
    print("\n## Logins")
    wrong = {"in": {"email": owner_email, "password": "not the password at all"}}
    log_in = "mutation($in: LogInInput!) { logIn(input: $in) { __typename } }"
    for index in range(12):  # from addresses that are not the owner's
        await gql(http, log_in, wrong, headers=address(2000 + index % 2))
    status, body, _ = await gql(
        http,
        log_in,
        {"in": {"email": owner_email, "password": PASSWORD}},
        headers=address(2999),
    )
    print(
        f"- 12 wrong passwords from 2 other addresses, then the owner from theirs: "
        f"{status} {body['data']['logIn']['__typename'] if body.get('data') else code_of(body)}"
    )
    samples: dict[str, list[float]] = {"known": [], "unknown": []}
    for index in range(50):
        for kind, email in (("known", owner_email), ("unknown", f"nobody-{index}@example.test")):
            _, body, elapsed = await gql(
                http,
                log_in,
                {"in": {"email": email, "password": "not the password at all"}},
                headers=address(3000 + index * 2 + (kind == "unknown")),
            )
            samples[kind].append(elapsed)
    known, unknown = (statistics.median(samples[k]) for k in ("known", "unknown"))
    print(
        f"- wrong password, 50 samples each: known email median {known:.1f} ms, unknown "
        f"{unknown:.1f} ms (difference {abs(known - unknown):.1f} ms)"
    )


async def latency(http: httpx.AsyncClient, token: str, rounds: int = 40) -> float:
    times = []
    for _ in range(rounds):
        times.append((await gql(http, "{ viewer { role } }", token=token))[2])
        await asyncio.sleep(0.05)
    return statistics.median(times)


async def sockets(base: str, pid: int, viewer_token: str, bystander_token: str) -> None:
    print("\n## Websockets")
    async with httpx.AsyncClient(base_url=base, timeout=30) as http:
        quiet = await latency(http, bystander_token)
        rss_before = rss_mb(pid)
        opened, refused_connections, accepted, refused_subscriptions = 0, 0, 0, 0
        async with asyncio.TaskGroup() as group:
            stop = asyncio.Event()
            ready: list[None] = []

            async def one_socket(index: int) -> None:
                nonlocal opened, refused_connections, accepted, refused_subscriptions
                async with httpx.AsyncClient(base_url=base, timeout=30) as client:
                    ws: AsyncWebSocketSession
                    try:
                        async with aconnect_ws(
                            "/graphql", client, subprotocols=[PROTOCOL], headers=address(4000)
                        ) as ws:
                            await ws.send_json(
                                {
                                    "type": "connection_init",
                                    "payload": {"authorization": f"Bearer {viewer_token}"},
                                }
                            )
                            if (await ws.receive_json(timeout=10))["type"] != "connection_ack":
                                return
                            opened += 1
                            for n in range(100):
                                await ws.send_json(
                                    {
                                        "id": str(n),
                                        "type": "subscribe",
                                        "payload": {
                                            "query": "subscription { executionEvents { status } }"
                                        },
                                    }
                                )
                            with_errors = 0
                            try:
                                while True:
                                    message = await ws.receive_json(timeout=2)
                                    if message["type"] == "error":
                                        with_errors += 1
                            except TimeoutError:
                                pass
                            refused_subscriptions += with_errors
                            accepted += 100 - with_errors
                            ready.append(None)
                            await stop.wait()
                    except (WebSocketDisconnect, ExceptionGroup):  # closed: over a cap
                        refused_connections += 1

            for index in range(30):
                group.create_task(one_socket(index))
            await asyncio.sleep(8)
            loaded = await latency(http, bystander_token)
            rss_open = rss_mb(pid)
            stop.set()
        await asyncio.sleep(3)
        rss_after = rss_mb(pid)
        print(
            f"- 30 connections x 100 subscriptions from one VIEWER at one address: "
            f"{opened} connections open, {refused_connections} refused; {accepted} "
            f"subscriptions running, {refused_subscriptions} refused"
        )
        print(f"- another tenant's median latency: {quiet:.1f} ms quiet, {loaded:.1f} ms meanwhile")
        print(
            f"- server RSS: {rss_before:.0f} MB before, {rss_open:.0f} MB open, "
            f"{rss_after:.0f} MB after the sockets closed"
        )


async def big_message(base: str, viewer_token: str) -> None:
    async with httpx.AsyncClient(base_url=base, timeout=30) as http:
        big: AsyncWebSocketSession
        async with aconnect_ws("/graphql", http, subprotocols=[PROTOCOL]) as big:
            await big.send_json(
                {"type": "connection_init", "payload": {"authorization": f"Bearer {viewer_token}"}}
            )
            await big.receive_json(timeout=10)
            await big.send_text(
                json.dumps(
                    {"id": "x", "type": "subscribe", "payload": {"query": " " * (5 * 1024 * 1024)}}
                )
            )
            try:
                await big.receive_json(timeout=10)
                print("- a 5 MiB message: not closed")
            except WebSocketDisconnect as closed:
                print(f"- a 5 MiB message: closed with {closed.code}")
            except WebSocketNetworkError:  # closed while the message was still being sent
                print("- a 5 MiB message: the server closed the socket while it was being sent")


async def posture(http: httpx.AsyncClient) -> None:
    print("\n## Production posture")
    _, body, _ = await gql(http, "{ __schema { queryType { name } } }", headers=address(9))
    print(f"- anonymous introspection: {'refused' if 'errors' in body else 'answered'}")
    _, body, _ = await gql(http, "{ viewr { role } }", headers=address(9))
    print(f"- a typo: {body['errors'][0]['message']!r}")
    metrics = await http.get("/metrics")
    print(f"- GET /metrics: {metrics.status_code}, {len(metrics.text.splitlines())} lines")


async def main(database_url: str | None) -> None:
    with server(database_url) as (base, pid):
        async with httpx.AsyncClient(base_url=base, timeout=60) as http:
            pro = await sign_up(http, 1, "PRO")
            free = await sign_up(http, 2)
            viewer = await sign_up(http, 3)
            bystander = await sign_up(http, 4)
            await refusals(http, pro["accessToken"])
            await posture(http)
            await budgets(http, free["accessToken"])
            await login_figures(http, pro["email"])
        await sockets(base, pid, viewer["accessToken"], bystander["accessToken"])
        try:
            await big_message(base, viewer["accessToken"])
        except (WebSocketNetworkError, ExceptionGroup):  # uvicorn's ws_max_size closed it
            print("- a 5 MiB message: the server closed the socket while it was being sent")


if __name__ == "__main__":
    options = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    options.add_argument("--database-url", help="a migrated database (default: fresh SQLite)")
    asyncio.run(main(options.parse_args().database_url))
