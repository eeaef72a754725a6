"""A small HTTP server on 127.0.0.1 for the http node's tests, in a thread of the test process.

Routes (any method):
- `/echo`: 200, JSON of what it received: method, path, headers, body (so a reflected secret
  can be looked for in the node's output);
- `/status/<code>`: that status, with a small JSON body;
- `/slow?ms=N`: waits N ms, then 200;
- `/redirect?to=URL&status=302`: a redirect to URL; `/loop` redirects to itself;
- `/big?bytes=N`: a text body of N bytes;
- `/text`: a text/plain body.
Every request is recorded in `requests`, headers included.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlsplit


@dataclass(frozen=True)
class Received:
    method: str
    path: str
    headers: dict[str, str]
    body: bytes


@dataclass
class EchoServer:
    base_url: str
    requests: list[Received] = field(default_factory=list)

    def url(self, path: str) -> str:
        return f"{self.base_url}{path}"


def _handler(server: EchoServer) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, format: str, *args: object) -> None:  # quiet
            pass

        def _answer(self, status: int, body: bytes, content_type: str, **headers: str) -> None:
            self.send_response(status)
            self.send_header("Content-Type", content_type)
            self.send_header("Content-Length", str(len(body)))
            for name, value in headers.items():
                self.send_header(name.replace("_", "-"), value)
            self.end_headers()
            if self.command != "HEAD":
                self.wfile.write(body)

        def _handle(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            body = self.rfile.read(length) if length else b""
            headers = dict(self.headers.items())
            server.requests.append(Received(self.command, self.path, headers, body))
            parts = urlsplit(self.path)
            query = {key: values[0] for key, values in parse_qs(parts.query).items()}
            route = parts.path
            if route == "/echo":
                echoed = {
                    "method": self.command,
                    "path": self.path,
                    "headers": headers,
                    "body": body.decode(errors="replace"),
                }
                self._answer(
                    200,
                    json.dumps(echoed).encode(),
                    "application/json",
                    X_Echo_Authorization=headers.get("Authorization", ""),
                )
            elif route.startswith("/status/"):
                status = int(route.removeprefix("/status/"))
                self._answer(status, json.dumps({"status": status}).encode(), "application/json")
            elif route == "/slow":
                time.sleep(int(query.get("ms", "1000")) / 1000)
                self._answer(200, b"late", "text/plain")
            elif route == "/redirect":
                status = int(query.get("status", "302"))
                self._answer(status, b"", "text/plain", Location=query["to"])
            elif route == "/loop":
                self._answer(302, b"", "text/plain", Location="/loop")
            elif route == "/big":
                self._answer(200, b"x" * int(query["bytes"]), "text/plain")
            elif route == "/text":
                self._answer(200, "plain text: é".encode(), "text/plain; charset=utf-8")
            else:
                self._answer(404, b"not here", "text/plain")

        do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = do_HEAD = do_OPTIONS = _handle

    return Handler


@contextmanager
def echo_server() -> Iterator[EchoServer]:
    """The server, listening on a free port of 127.0.0.1 until the block ends."""
    echo = EchoServer(base_url="")
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), _handler(echo))
    httpd.daemon_threads = True  # a /slow request left behind does not hold up the end
    echo.base_url = f"http://127.0.0.1:{httpd.server_address[1]}"
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    try:
        yield echo
    finally:
        httpd.shutdown()
        httpd.server_close()
        thread.join(timeout=5)
