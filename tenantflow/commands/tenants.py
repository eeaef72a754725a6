"""Commands for the operator's tenant controls: tenantflow tenant activate|suspend|set-plan."""

from __future__ import annotations

import argparse


def register(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add this module's subcommands; each sets `handler(settings, args)` as its default."""
