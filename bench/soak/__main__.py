"""`python -m bench.soak`: exit status 1 on any isolation violation or lost acknowledged write."""

from __future__ import annotations

import argparse
import asyncio
import logging
import sys

from bench.soak.run import soak
from tenantflow.settings import load_settings


def parser() -> argparse.ArgumentParser:
    options = argparse.ArgumentParser(
        prog="python -m bench.soak",
        description="N tenants at once for a set time (reads, writes, runs and subscriptions);"
        " every response and event is checked for its tenant. Prints requests, errors, isolation"
        " violations, lost acknowledged writes and latency percentiles.",
    )
    options.add_argument(
        "--tenants",
        type=int,
        default=100,
        help="tenants signed up and driven at once (default: %(default)s)",
    )
    options.add_argument(
        "--seconds", type=float, default=60.0, help="how long the load runs (default: %(default)s)"
    )
    options.add_argument(
        "--url",
        help="a running server (e.g. http://127.0.0.1:8000); without it the application is served"
        " in-process on the TENANTFLOW_* settings (budgets off, the executor on)",
    )
    options.add_argument(
        "--think-ms",
        type=float,
        default=100.0,
        help="mean pause of each tenant between its requests, in ms (default: %(default)s)",
    )
    options.add_argument(
        "--seed", type=int, default=0, help="seed of the tenants' choices (default: %(default)s)"
    )
    return options


def main() -> int:
    args = parser().parse_args()
    logging.basicConfig(level=logging.WARNING)
    for name in ("httpx", "tenantflow.requests"):
        logging.getLogger(name).setLevel(logging.WARNING)
    settings = None if args.url else load_settings()
    ledger = asyncio.run(
        soak(
            settings,
            tenants=args.tenants,
            seconds=args.seconds,
            url=args.url,
            think_ms=args.think_ms,
            seed=args.seed,
        )
    )
    return 1 if ledger.violations or ledger.lost else 0


if __name__ == "__main__":
    sys.exit(main())
