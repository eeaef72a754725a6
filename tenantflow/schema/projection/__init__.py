"""Projected queries: the hot read operations answered from one SQL statement, without
resolving each field in Python.

graphql-core resolves every field of a response on its own (about 1,700 for the dashboard), which
costs a Python gateway most of its time; PostGraphile and Hasura instead compile a selection into
SQL. This package does that for the operations that carry the load: `workflows` (the SPA's
dashboard: a page of workflows, each with its owner and its latest executions) and `workflow(id:)`.

A projection applies only when every field of the operation is one it knows, with arguments it
knows, on PostgreSQL; anything else (another root field, a field it does not project, an unknown
directive, SQLite) leaves the operation to the general resolvers, as does any refusal (a bad
cursor, a page size over the limit, a missing permission), so that errors are always the general
path's. Rows come from the same listings, orders and cursor scopes as the general path and are
shown by the same formatters; tests/api/test_projection.py holds the two paths equal field by field.
"""
