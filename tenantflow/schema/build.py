"""Composes the per-domain root types into one Strawberry schema."""

from __future__ import annotations

import strawberry
from strawberry.tools import merge_types

from tenantflow.schema.masking import MaskUnexpectedErrors
from tenantflow.schema.viewer import IdentityQuery


def build_schema() -> strawberry.Schema:
    query = merge_types("Query", (IdentityQuery,))
    # Extensions are passed as classes: instances would be shared by concurrent requests.
    return strawberry.Schema(query=query, extensions=[MaskUnexpectedErrors])
