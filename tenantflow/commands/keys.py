"""`tenantflow generate-keys`: new TENANTFLOW_SECRET_KEY and TENANTFLOW_ENCRYPTION_KEYS values.

The lines go to stdout as `NAME=value`, ready for an env file; advice goes to stderr, so
`tenantflow generate-keys >> .env` keeps only the values.
"""

from __future__ import annotations

import argparse
import secrets
import sys

from tenantflow.commands import Commands, add_command
from tenantflow.secrets.envelope import KEY_SIZE
from tenantflow.settings import Settings

# 48 random bytes: well above the 32 bytes an HS256 key needs (auth.tokens.MIN_KEY_BYTES).
SIGNING_KEY_BYTES = 48


def key_lines() -> list[str]:
    """A new signing key, and one master key: the urlsafe base64 of 32 random bytes, which
    `MasterKey.from_config` takes as the key itself (no derivation)."""
    return [
        f"TENANTFLOW_SECRET_KEY={secrets.token_urlsafe(SIGNING_KEY_BYTES)}",
        f"TENANTFLOW_ENCRYPTION_KEYS={secrets.token_urlsafe(KEY_SIZE)}",
    ]


def generate_keys(_settings: Settings | None, _args: argparse.Namespace) -> None:
    for line in key_lines():
        print(line)
    print(
        "# Keep both secret. To rotate the master key later, put a new one first"
        " (NEW,OLD), run `tenantflow rewrap-keys`, then drop OLD.",
        file=sys.stderr,
    )


def register(commands: Commands) -> None:
    add_command(
        commands,
        "generate-keys",
        "print a fresh TENANTFLOW_SECRET_KEY and TENANTFLOW_ENCRYPTION_KEYS as NAME=value lines"
        " for an env file",
        generate_keys,
    ).set_defaults(needs_settings=False)  # it must run where no keys are configured yet
