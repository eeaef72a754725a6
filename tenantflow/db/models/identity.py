"""Tenants, users, memberships, invitations and credentials."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlmodel import Field, SQLModel

from tenantflow.db.base import TenantOwned, created_at_field, new_id, optional_timestamp_field
from tenantflow.db.types import JSONType, UTCDateTime, enum_column_type
from tenantflow.enums import Plan, Role, TenantStatus


class Tenant(SQLModel, table=True):
    """Global table: read through explicit queries, not filtered by tenant."""

    __tablename__ = "tenants"

    id: uuid.UUID = Field(default_factory=new_id, primary_key=True)
    name: str = Field(max_length=100)
    slug: str = Field(max_length=50, unique=True)
    plan: Plan = Field(default=Plan.FREE, sa_type=enum_column_type(Plan))
    status: TenantStatus = Field(
        default=TenantStatus.ACTIVE, sa_type=enum_column_type(TenantStatus)
    )
    settings: dict[str, Any] = Field(default_factory=dict, sa_type=JSONType, nullable=False)
    trial_ends_at: datetime | None = optional_timestamp_field()
    deleted_at: datetime | None = optional_timestamp_field()
    # Bumped on every change that takes access away, so cached principals can be invalidated.
    auth_version: int = Field(default=1)
    created_at: datetime = created_at_field()
    updated_at: datetime = created_at_field()


class User(SQLModel, table=True):
    """Global table: an account may belong to several tenants."""

    __tablename__ = "users"

    id: uuid.UUID = Field(default_factory=new_id, primary_key=True)
    # Lower-cased copy of the email: emails compare case-insensitively.
    email_normalized: str = Field(max_length=320, unique=True)
    email: str = Field(max_length=320)
    name: str | None = Field(default=None, max_length=200)
    password_hash: str = Field(max_length=255)
    # Sessions (refresh-token families) started before this are no longer valid.
    sessions_valid_after: datetime = created_at_field()
    created_at: datetime = created_at_field()
    updated_at: datetime = created_at_field()


class Membership(TenantOwned, table=True):
    __tablename__ = "memberships"
    __table_args__ = (
        sa.UniqueConstraint("tenant_id", "user_id"),
        sa.Index(None, "tenant_id", "created_at", "id"),
        sa.Index(None, "user_id"),
    )

    id: uuid.UUID = Field(default_factory=new_id, primary_key=True)
    user_id: uuid.UUID = Field(foreign_key="users.id")
    role: Role = Field(sa_type=enum_column_type(Role))
    created_at: datetime = created_at_field()
    updated_at: datetime = created_at_field()


class Invitation(TenantOwned, table=True):
    __tablename__ = "invitations"
    __table_args__ = (sa.Index(None, "tenant_id", "created_at", "id"),)

    id: uuid.UUID = Field(default_factory=new_id, primary_key=True)
    email_normalized: str = Field(max_length=320)
    email: str = Field(max_length=320)
    role: Role = Field(sa_type=enum_column_type(Role))
    # SHA-256 of the one-time token; the token itself is shown once and never stored.
    token_hash: str = Field(max_length=64, unique=True)
    invited_by_id: uuid.UUID | None = Field(default=None, foreign_key="users.id")
    created_at: datetime = created_at_field()
    expires_at: datetime = Field(sa_type=UTCDateTime)
    accepted_at: datetime | None = optional_timestamp_field()
    revoked_at: datetime | None = optional_timestamp_field()


class ApiKey(TenantOwned, table=True):
    __tablename__ = "api_keys"
    __table_args__ = (sa.Index(None, "tenant_id", "created_at", "id"),)

    id: uuid.UUID = Field(default_factory=new_id, primary_key=True)
    name: str = Field(max_length=100)
    prefix: str = Field(max_length=12)
    # SHA-256 of the whole key: keys are long random strings, so a fast hash is enough.
    key_hash: str = Field(max_length=64, unique=True)
    role: Role = Field(sa_type=enum_column_type(Role))
    created_by_id: uuid.UUID | None = Field(default=None, foreign_key="users.id")
    created_at: datetime = created_at_field()
    last_used_at: datetime | None = optional_timestamp_field()
    revoked_at: datetime | None = optional_timestamp_field()


class RefreshTokenFamily(TenantOwned, table=True):
    """One sign-in session: every refresh token rotated from one login shares a family."""

    __tablename__ = "refresh_token_families"
    __table_args__ = (
        sa.UniqueConstraint("tenant_id", "id"),
        sa.Index(None, "tenant_id", "user_id"),
    )

    id: uuid.UUID = Field(default_factory=new_id, primary_key=True)
    user_id: uuid.UUID = Field(foreign_key="users.id")
    created_at: datetime = created_at_field()
    revoked_at: datetime | None = optional_timestamp_field()
    revoked_reason: str | None = Field(default=None, max_length=50)


class RefreshToken(TenantOwned, table=True):
    __tablename__ = "refresh_tokens"
    __table_args__ = (
        sa.ForeignKeyConstraint(
            ["tenant_id", "family_id"],
            ["refresh_token_families.tenant_id", "refresh_token_families.id"],
            ondelete="CASCADE",
        ),
        sa.Index(None, "tenant_id", "family_id"),
    )

    id: uuid.UUID = Field(default_factory=new_id, primary_key=True)
    family_id: uuid.UUID
    token_hash: str = Field(max_length=64, unique=True)
    created_at: datetime = created_at_field()
    expires_at: datetime = Field(sa_type=UTCDateTime)
    # Set when rotated; presenting a used token again revokes the family.
    used_at: datetime | None = optional_timestamp_field()


__all__ = [
    "ApiKey",
    "Invitation",
    "Membership",
    "RefreshToken",
    "RefreshTokenFamily",
    "Tenant",
    "User",
]
