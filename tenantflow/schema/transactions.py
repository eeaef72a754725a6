"""Which transactions an operation's reads share."""

from __future__ import annotations

from collections.abc import AsyncIterator

from strawberry.extensions import SchemaExtension
from strawberry.types.graphql import OperationType

from tenantflow.context import Context


class SharedReadsForQueriesOnly(SchemaExtension):
    """A query reads in the one transaction its credentials were checked in. A mutation ends
    that transaction before it runs: it opens transactions of its own (tenant, global), and a
    request that holds one pooled connection while it waits for another starves the pool (or
    pgbouncer) under load."""

    async def on_execute(self) -> AsyncIterator[None]:
        execution = self.execution_context
        request = execution.context
        if (
            execution.operation_type is not OperationType.QUERY
            and isinstance(request, Context)
            and request.viewpoint is not None
        ):
            await request.viewpoint.db.aclose()
        yield
