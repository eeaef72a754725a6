"""Repeated queries answered from the cache (tenantflow/cache/answers.py).

Only whole, error-free answers of queries over HTTP are kept; a refused operation (limits, budgets)
has its answer already and is never looked up. Websocket operations are not cached: a socket's
principal lives longer than one request's versions.
"""

from __future__ import annotations

from collections.abc import AsyncIterator

from graphql import ExecutionResult as GraphQLExecutionResult
from strawberry.extensions import SchemaExtension
from strawberry.types.graphql import OperationType

from tenantflow.cache.answers import answer_key
from tenantflow.context import Context
from tenantflow.observability import metrics


class CachedAnswers(SchemaExtension):
    """Answers a query from the cache, or keeps the answer it got. Placed after the protection
    (its cost is still paid) and before the projection and the resolvers."""

    async def on_execute(self) -> AsyncIterator[None]:
        execution = self.execution_context
        request = execution.context
        if (
            execution.result is not None  # refused: answered already
            or not isinstance(request, Context)
            or request.viewpoint is None
            or request.viewpoint.versions is None
            or request.runtime.caches is None
            or execution.operation_type is not OperationType.QUERY
        ):
            yield
            return
        answers = request.runtime.caches.answers
        viewpoint = request.viewpoint
        assert viewpoint.versions is not None
        key = answer_key(
            viewpoint.principal,
            viewpoint.versions,
            execution.query or "",
            execution.operation_name,
            execution.variables,
        )
        kept = await answers.get(key)
        if kept is not None:
            metrics.CACHE_HITS.labels("answers").inc()
            execution.result = GraphQLExecutionResult(data=kept, errors=None)
            yield
            return
        metrics.CACHE_MISSES.labels("answers").inc()
        yield
        result = execution.result
        if isinstance(result, GraphQLExecutionResult) and not result.errors and result.data:
            await answers.keep(key, result.data)
