"""module catalogue

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-26

The catalogue is data: a new module is a new migration that inserts a row.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

MODULES = [
    {
        "key": "analytics",
        "name": "Analytics",
        "description": "Execution metrics and dashboards for the tenant's workflows.",
        "depends_on": [],
        "required_settings": [],
        "position": 10,
    },
    {
        "key": "reporting",
        "name": "Reporting",
        "description": "Scheduled and exportable reports built on analytics.",
        "depends_on": ["analytics"],
        "required_settings": [],
        "position": 20,
    },
    {
        "key": "billing",
        "name": "Billing",
        "description": "Usage-based billing of the tenant's own customers.",
        "depends_on": [],
        "required_settings": ["companyEmail", "address"],
        "position": 30,
    },
    {
        "key": "invoicing",
        "name": "Invoicing",
        "description": "Invoices generated from billing records.",
        "depends_on": ["billing"],
        "required_settings": [],
        "position": 40,
    },
]


def _modules_table() -> sa.Table:
    return sa.table(
        "modules",
        sa.column("key", sa.String),
        sa.column("name", sa.String),
        sa.column("description", sa.String),
        sa.column("depends_on", sa.JSON),
        sa.column("required_settings", sa.JSON),
        sa.column("position", sa.Integer),
    )


def upgrade() -> None:
    op.bulk_insert(_modules_table(), MODULES)


def downgrade() -> None:
    modules = _modules_table()
    op.execute(modules.delete().where(modules.c.key.in_([m["key"] for m in MODULES])))
