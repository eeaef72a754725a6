"""Commands for retention and keys: tenantflow purge, tenantflow rewrap-keys."""

from __future__ import annotations

import argparse


def register(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add this module's subcommands; each sets `handler(settings, args)` as its default."""
