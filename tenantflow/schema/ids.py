"""Relay global ids: base64 of "<TypeName>:<primary key>", opaque to clients.

The one parser of global ids. Another tenant's id, a malformed id and an id of the wrong type must
all behave like an id that does not exist: queries get None from `uuid_of` and answer null, filters
match nothing (`filter_key`), mutations get NotFound from `require_key` (their union's
NotFoundError). Services only ever see real keys.
"""

from __future__ import annotations

import base64
import binascii
import uuid
from collections.abc import Collection

import strawberry

from tenantflow.services.errors import NotFound

# The key a filter uses for an id that can name no row: it matches nothing, like a missing id.
NO_ROW = uuid.UUID(int=0)


def to_global_id(type_name: str, key: uuid.UUID | str) -> strawberry.ID:
    raw = f"{type_name}:{key}".encode()
    return strawberry.ID(base64.urlsafe_b64encode(raw).decode().rstrip("="))


def parse_global_id(value: str) -> tuple[str, str] | None:
    """(type name, key) of a well-formed id, or None."""
    if not isinstance(value, str) or not 0 < len(value) <= 200:
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
    """The primary key behind an id of `type_name`; None for a malformed id or another type."""
    typed = typed_key(value, (type_name,))
    return typed[1] if typed else None


def require_key(value: str, type_name: str, *, missing: str | None = None) -> uuid.UUID:
    """The key of a mutation's id; NotFound (the union's NotFoundError) when it names nothing.

    `missing` names what is not found when it is not the id's type (a member by its user's id).
    """
    key = uuid_of(value, type_name)
    if key is None:
        raise NotFound(missing or type_name)
    return key


def filter_key(value: str, type_name: str) -> uuid.UUID:
    """The key of an id in a filter: one that cannot name a row of `type_name` matches none."""
    return uuid_of(value, type_name) or NO_ROW
