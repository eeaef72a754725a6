"""`tenantflow` subcommands, one module per concern; each adds its parsers in `register`."""

from __future__ import annotations

import argparse
from collections.abc import Callable
from typing import Any, TypeAlias

Handler = Callable[[Any, argparse.Namespace], None]
# A string: argparse's class is not subscriptable at run time.
Commands: TypeAlias = "argparse._SubParsersAction[argparse.ArgumentParser]"


class CommandError(Exception):
    """A command cannot run as asked; the message says why, without a traceback."""


def add_command(
    commands: Commands, name: str, summary: str, handler: Handler | None = None
) -> argparse.ArgumentParser:
    """A subcommand whose one-line `summary` shows both in the parent's list and on its own
    `--help` page; `handler(settings, args)` runs it (omit it for a group of subcommands)."""
    parser = commands.add_parser(name, help=summary, description=summary)
    if handler is not None:
        parser.set_defaults(handler=handler)
    return parser
