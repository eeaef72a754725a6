"""`tenantflow export-schema`: print the served SDL."""

from __future__ import annotations

import argparse

from tenantflow.commands import Commands, add_command
from tenantflow.settings import Settings


def export_schema(_settings: Settings, _args: argparse.Namespace) -> None:
    from tenantflow.schema import schema

    print(schema.as_str())


def register(commands: Commands) -> None:
    add_command(
        commands,
        "export-schema",
        "print the served GraphQL SDL (what schema.graphql holds)",
        export_schema,
    )
