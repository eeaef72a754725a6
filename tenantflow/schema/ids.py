"""Global ids in the schema: the `ID` a type shows, and what an argument's id becomes.

Parsing is `tenantflow/global_ids.py`'s (the one parser, also used by the executor). Another
tenant's id, a malformed id and an id of the wrong type all behave like an id that does not exist:
queries get None from `uuid_of` and answer null, filters match nothing (`filter_key`), mutations
get NotFound from `require_key` (their union's NotFoundError). Services only ever see real keys.
"""

from __future__ import annotations

import uuid

import strawberry

from tenantflow.global_ids import encode_global_id, parse_global_id, typed_key, uuid_of
from tenantflow.services.errors import NotFound

__all__ = [
    "NO_ROW",
    "filter_key",
    "parse_global_id",
    "require_key",
    "to_global_id",
    "typed_key",
    "uuid_of",
]

# The key a filter uses for an id that can name no row: it matches nothing, like a missing id.
NO_ROW = uuid.UUID(int=0)


def to_global_id(type_name: str, key: uuid.UUID | str) -> strawberry.ID:
    return strawberry.ID(encode_global_id(type_name, key))


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
