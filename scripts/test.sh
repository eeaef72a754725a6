#!/usr/bin/env bash
# The whole check, as CI runs it: install into .venv from the project's files, make sure the
# services answer, then lint, type-check and test (SQLite and PostgreSQL, reference clients).
# Extra arguments go to pytest, e.g. scripts/test.sh -k rls -x
set -euo pipefail
cd "$(dirname "$0")/.."

PYTHON=${PYTHON:-python3}
if [[ ! -x .venv/bin/python ]]; then
  "$PYTHON" -m venv .venv
fi
.venv/bin/python -m pip install --quiet --upgrade pip
.venv/bin/python -m pip install --quiet -c constraints.txt -e '.[dev]'

bash scripts/services.sh

# The contract and the reference clients live beside the repository (../shared); a clone made
# elsewhere (a CI checkout in /tmp, say) finds them in the workplace's /work/shared.
if [[ -z "${TENANTFLOW_SHARED_DIR:-}" ]]; then
  for candidate in "$PWD/../shared" /work/shared; do
    if [[ -d "$candidate/contract" ]]; then
      TENANTFLOW_SHARED_DIR="$(cd "$candidate" && pwd)"
      export TENANTFLOW_SHARED_DIR
      break
    fi
  done
fi

echo "== ruff"
.venv/bin/ruff check .
.venv/bin/ruff format --check .
echo "== mypy"
.venv/bin/mypy tenantflow tests bench
echo "== pytest"
# Every core: each worker has a PostgreSQL deployment of its own; a file stays on one worker.
.venv/bin/pytest -n auto --dist loadfile "$@"
