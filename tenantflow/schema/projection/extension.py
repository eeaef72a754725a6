"""The schema extension that answers a projected operation before graphql-core executes it."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator, Mapping
from typing import Any

from graphql import ExecutionResult as GraphQLExecutionResult
from graphql import GraphQLError, OperationDefinitionNode, get_operation_ast
from strawberry.extensions import SchemaExtension
from strawberry.types.arguments import convert_arguments
from strawberry.types.graphql import OperationType

from tenantflow.context import Context
from tenantflow.db.pagination import Listing
from tenantflow.db.session import TenantDb
from tenantflow.errors import Refusal
from tenantflow.schema.projection.selections import Selected, Unsupported, selections
from tenantflow.schema.projection.workflows import WorkflowField, WorkflowsField
from tenantflow.schema.workflows import workflows_listing

log = logging.getLogger(__name__)
PROJECTED_ROOTS = frozenset({"workflows", "workflow", "__typename"})
ProjectedField = WorkflowsField | WorkflowField


class ProjectedQueries(SchemaExtension):
    """Sets the operation's result from the projections when they cover all of it (see the
    package docstring); otherwise, or on any refusal, leaves it to graphql-core."""

    async def on_execute(self) -> AsyncIterator[None]:
        context = self.execution_context
        if context.result is None and context.operation_type is OperationType.QUERY:
            try:
                data = await self._project()
            except Exception as error:
                # Raised out of an extension it would skip the masking; as the operation's
                # error it is masked and logged like a resolver's (503 for an outage).
                failure = GraphQLError(str(error), original_error=error)
                context.result = GraphQLExecutionResult(data=None, errors=[failure])
            else:
                if data is not None:
                    context.result = GraphQLExecutionResult(data=data, errors=None)
        yield

    async def _project(self) -> dict[str, Any] | None:
        planned = self._plan()
        if planned is None:
            return None
        db, roots = planned
        data: dict[str, Any] = {}
        try:
            for key, field in roots:
                data[key] = "Query" if field is None else await field.resolve(db)
        except Refusal as reason:
            # Refused before any statement (a bad cursor): the general path words it, at its path.
            log.debug("not projected: %s", reason)
            return None
        return data

    def _plan(self) -> tuple[TenantDb, list[tuple[str, ProjectedField | None]]] | None:
        """The operation's root fields as projected (by response key), or None to leave it."""
        execution = self.execution_context
        request = execution.context
        if not isinstance(request, Context) or request.viewpoint is None:
            return None
        viewpoint = request.viewpoint
        if viewpoint.db.sessions.engine.dialect.name != "postgresql":
            return None  # the statements use LATERAL; SQLite keeps the general path
        document = execution.graphql_document
        operation = get_operation_ast(document, execution.operation_name) if document else None
        if document is None or not isinstance(operation, OperationDefinitionNode):
            return None
        try:
            roots = selections(execution.schema._schema, document, operation, execution.variables)
            if any(selected.name not in PROJECTED_ROOTS for selected in roots):
                return None
            fields = [(s.key, self._field(s, viewpoint.principal)) for s in roots]
        except (Unsupported, Refusal) as reason:
            log.debug("not projected: %s", reason)
            return None
        return viewpoint.db, fields

    def _field(self, selected: Selected, principal: Any) -> ProjectedField | None:
        if selected.name == "__typename":
            return None
        if selected.name == "workflow":
            return WorkflowField.of(selected, principal)
        return WorkflowsField.of(selected, principal, self._workflows_listing)

    def _workflows_listing(self, arguments: Mapping[str, Any]) -> Listing:
        """The listing of `workflows` from its GraphQL arguments, read as its resolver reads
        them (Strawberry's own argument conversion, then the resolver's listing)."""
        schema = self.execution_context.schema
        definition = schema.get_type_by_name("Query")
        field = definition.get_field("workflows") if definition else None  # type: ignore[union-attr]
        assert field is not None
        converted = convert_arguments(
            dict(arguments),
            field.arguments,
            scalar_registry=schema.schema_converter.scalar_registry,
            config=schema.config,
        )
        return workflows_listing(converted.get("filter"), converted.get("order_by"))
