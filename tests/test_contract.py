"""The served schema against the public contract, and the committed SDL against the served one."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from tenantflow.schema import schema
from tests.conformance.test_reference_clients import SHARED

REPO = Path(__file__).resolve().parents[1]
CONTRACT_CHECK = SHARED / "tools" / "contract_check.py"
COMMITTED_SDL = REPO / "schema.graphql"


def test_served_schema_keeps_every_part_of_the_contract(tmp_path: Path) -> None:
    served = tmp_path / "served.graphql"
    served.write_text(schema.as_str())
    result = subprocess.run(
        [sys.executable, str(CONTRACT_CHECK), str(served)],
        capture_output=True,
        text=True,
        check=False,
        timeout=60,
    )
    assert result.returncode == 0, result.stdout + result.stderr


def test_committed_schema_matches_the_served_one() -> None:
    # Regenerate with: tenantflow export-schema > schema.graphql
    assert COMMITTED_SDL.read_text() == schema.as_str() + "\n"
