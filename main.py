"""The quickest start: migrate the embedded SQLite database, then serve (127.0.0.1:8000 unless
--host and --port say otherwise)."""

import argparse
import sys

from tenantflow.cli import add_serve_options, main


def quick_start(argv: list[str] | None = None) -> int:
    options = argparse.ArgumentParser(
        prog="python main.py",
        description="Migrate the database, then serve the GraphQL API (GraphiQL at /graphql).",
    )
    add_serve_options(options)
    args = options.parse_args(argv)
    status = main(["migrate"])
    if status == 0:
        status = main(["serve", "--host", args.host, "--port", str(args.port)])
    return status


if __name__ == "__main__":
    sys.exit(quick_start())
