"""The soak: N tenants at once for a set time, every response and event checked for its tenant.

    .venv/bin/python -m bench.soak [--tenants 100] [--seconds 60] [--url URL]

`ledger.py` keeps what was acknowledged and counts violations, `tenant.py` is one tenant's loop,
`run.py` signs the tenants up, runs the loops and verifies at the end, `report.py` prints.
"""
