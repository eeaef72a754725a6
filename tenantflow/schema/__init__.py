"""The served schema: `tenantflow.schema:schema` is what `strawberry export-schema` reads."""

from tenantflow.schema.build import build_schema

schema = build_schema()

__all__ = ["build_schema", "schema"]
