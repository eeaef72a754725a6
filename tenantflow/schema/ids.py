"""Relay global ids: base64 of "<TypeName>:<primary key>", opaque to clients."""

from __future__ import annotations

import uuid

import strawberry

from tenantflow.global_ids import encode_global_id, parse_global_id, uuid_of

__all__ = ["parse_global_id", "to_global_id", "uuid_of"]


def to_global_id(type_name: str, key: uuid.UUID | str) -> strawberry.ID:
    return strawberry.ID(encode_global_id(type_name, key))
