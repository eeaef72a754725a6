"""What every table shares: constraint names, key and timestamp columns, the tenant-owned marker."""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlmodel import Field, SQLModel

from tenantflow.db.types import UTCDateTime, utcnow

# Stable constraint names make migrations reproducible and let Alembic alter them on SQLite.
NAMING_CONVENTION = {
    "ix": "ix_%(table_name)s_%(column_0_N_name)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_N_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}
SQLModel.metadata.naming_convention = NAMING_CONVENTION
metadata = SQLModel.metadata


def new_id() -> uuid.UUID:
    return uuid.uuid4()


def created_at_field() -> datetime:
    # Typed as the value a model instance holds; SQLModel's Field() itself is untyped.
    field: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime, nullable=False)
    return field


def optional_timestamp_field() -> datetime | None:
    field: datetime | None = Field(default=None, sa_type=UTCDateTime, nullable=True)
    return field


class TenantOwned(SQLModel):
    """Marker and column for every table whose rows belong to one tenant.

    The tenant-scoped session filters every ORM statement on these tables by the session's tenant
    and stamps it on inserts; on PostgreSQL, Row Level Security enforces the same in the database.
    """

    # Cascades so that purging a tenant row removes everything it owns, tables added later included.
    # Optional at construction only: the tenant-scoped session stamps it before the insert.
    tenant_id: uuid.UUID = Field(
        default=None, foreign_key="tenants.id", ondelete="CASCADE", nullable=False
    )
