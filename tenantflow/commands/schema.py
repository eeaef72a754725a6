"""`tenantflow export-schema`: print the served SDL."""

from __future__ import annotations

import argparse

from tenantflow.settings import Settings


def export_schema(_settings: Settings, _args: argparse.Namespace) -> None:
    from tenantflow.schema import schema

    print(schema.as_str())


def register(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = commands.add_parser("export-schema", help="print the served GraphQL SDL")
    parser.set_defaults(handler=export_schema)
