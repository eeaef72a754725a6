"""Relay global ids: base64 of "<TypeName>:<primary key>", opaque to clients.

Plain functions with no GraphQL in them, for the schema and for the parts that read ids out of
stored data (the executor reads a provider key's id from a node's config).
"""

from __future__ import annotations

import base64
import binascii
import uuid
from collections.abc import Collection

MAX_LENGTH = 200


def encode_global_id(type_name: str, key: uuid.UUID | str) -> str:
    raw = f"{type_name}:{key}".encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def parse_global_id(value: str) -> tuple[str, str] | None:
    """(type name, key) of a well-formed id, or None."""
    if not isinstance(value, str) or not 0 < len(value) <= MAX_LENGTH:
        return None
    try:
        decoded = base64.urlsafe_b64decode(value + "=" * (-len(value) % 4)).decode()
    except (binascii.Error, UnicodeDecodeError, ValueError):
        return None
    type_name, separator, key = decoded.partition(":")
    if not separator or not type_name or not key:
        return None
    return type_name, key


def typed_key(value: str, type_names: Collection[str]) -> tuple[str, uuid.UUID] | None:
    """(type name, primary key) of an id of one of `type_names`; None for any other id."""
    parsed = parse_global_id(value)
    if parsed is None or parsed[0] not in type_names:
        return None
    try:
        return parsed[0], uuid.UUID(parsed[1])
    except ValueError:
        return None


def uuid_of(value: str, type_name: str) -> uuid.UUID | None:
    """The primary key behind a global id of `type_name`; None for a malformed id or another type.

    Callers treat None exactly like an id that does not exist.
    """
    typed = typed_key(value, (type_name,))
    return typed[1] if typed else None
