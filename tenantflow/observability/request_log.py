"""One JSON line per HTTP request: request id, tenant, operation, duration, status, cost.

Nothing a client wrote goes in unmasked: the path is logged without its query string (a GET's
`query` and `variables` may hold emails and passwords), and the finished line is masked once more
(emails, bearer tokens, API keys, JWTs), whatever put them there.
"""

from __future__ import annotations

import json
import logging
import re
import sys
from typing import Any, Final

log = logging.getLogger("tenantflow.requests")

_EMAIL: Final = re.compile(r"[A-Za-z0-9._%+-]+@[A-Za-z0-9.-]+\.[A-Za-z]{2,}")
_SECRETS: Final = (
    re.compile(r"(?i)bearer\s+[A-Za-z0-9._~+/=-]+"),
    re.compile(r"tfk_[A-Za-z0-9_-]+"),
    # JWTs: three base64url parts, the first a JSON header ("eyJ").
    re.compile(r"eyJ[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]*"),
)


def mask(text: str) -> str:
    text = _EMAIL.sub("[email]", text)
    for secret in _SECRETS:
        text = secret.sub("[secret]", text)
    return text


def request_line(**fields: Any) -> str:
    """The log line of one request: the fields as one JSON object, masked."""
    return mask(json.dumps(fields, separators=(",", ":"), default=str))


def configure() -> None:
    """Request lines go to stdout as bare JSON (the server's entry point calls this once)."""
    if log.handlers:
        return
    handler = logging.StreamHandler(sys.stdout)
    handler.setFormatter(logging.Formatter("%(message)s"))
    log.addHandler(handler)
    log.setLevel(logging.INFO)
    log.propagate = False
