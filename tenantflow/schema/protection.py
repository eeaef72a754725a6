"""Query limits, budgets and subscription caps on every operation, HTTP and websocket alike.

A Strawberry extension, because websocket operations skip the HTTP middleware:

- `on_operation`, before anything is parsed: one request from the spender's budget (the tenant's,
  by plan, or the client address's without credentials), then the token count.
- `on_parse`, once the document is parsed (by Strawberry or by a parser cache): depth, aliases,
  directives per field and the static cost (`protection/document.py`); then the cost from the
  tenant's cost budget, and a subscription's caps.
- A refused operation never reaches validation or a resolver: its text and document are swapped
  for the constant `{ __typename }` (so parsers, validation caches and transports handle a
  well-formed, cached operation), and `on_execute` answers with the refusal instead of running
  anything. That is independent of any validation cache (validation runs on the constant) and of
  the extensions' order. Over HTTP the refusal is a request error (429 for RATE_LIMITED, with
  `Retry-After`); over the websocket an `error` message.

Every answer carries `extensions.cost` (0 when refused before its cost was known) and, over HTTP,
the contract's X-RateLimit-* and X-Cost-* headers (none with TENANTFLOW_RATE_LIMITS=off).
What ran is left on the request's state for the request log and metrics (`OperationRecord`).
"""

from __future__ import annotations

import math
import re
import uuid
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass, field
from typing import Any, Final

from graphql import GraphQLError, parse
from starlette.requests import Request
from starlette.responses import Response
from strawberry.extensions import SchemaExtension
from strawberry.types.execution import PreExecutionError
from strawberry.types.graphql import OperationType

from tenantflow.context import Context
from tenantflow.errors import Refusal
from tenantflow.observability import metrics
from tenantflow.protection.budgets import Allowance, RateLimited, Spender
from tenantflow.protection.document import QueryTooComplex, count_tokens, measure
from tenantflow.protection.sockets import Lease, SocketCapReached
from tenantflow.schema.masking import public_error

_NAME: Final = re.compile(r"[_A-Za-z][_0-9A-Za-z]*")


def refused_query(operation_name: str | None) -> str:
    """The constant that stands in for a refused operation, under the name the request asked
    for (Strawberry looks that operation up in the document)."""
    if operation_name is not None and _NAME.fullmatch(operation_name):
        return f"query {operation_name} {{ __typename }}"
    return "{ __typename }"


RECORD_KEY: Final = "graphql_operation"  # on the request state


@dataclass
class OperationRecord:
    """What one HTTP request ran, for the request log and the metrics."""

    name: str | None = None
    tenant_id: uuid.UUID | None = None
    cost: int = 0
    error_codes: list[str] = field(default_factory=list)


def operation_record(request: Request) -> OperationRecord | None:
    record = request.scope.get("state", {}).get(RECORD_KEY)
    return record if isinstance(record, OperationRecord) else None


class Protection(SchemaExtension):
    """Passed as a class: it keeps the operation's cost, refusal and leases on the instance."""

    def __init__(self) -> None:
        self.cost = 0
        self.refusal: Refusal | None = None
        self.subscription: Lease | None = None
        self.operation_name: str | None = None

    def _context(self) -> Context | None:
        context = self.execution_context.context
        return context if isinstance(context, Context) else None

    async def on_operation(self) -> AsyncIterator[None]:
        context = self._context()
        if context is None:  # the schema used outside the app (schema export, unit tests)
            yield
            return
        self.operation_name = self.execution_context.operation_name  # as the request names it
        try:
            await self._before_parsing(context)
            yield
        finally:
            if self.subscription is not None:
                self.subscription.release()
                metrics.SUBSCRIPTIONS_ACTIVE.dec()
        self._record(context)

    async def on_parse(self) -> AsyncIterator[None]:
        yield
        context = self._context()
        if context is None or self.refusal is not None:
            return
        document = self.execution_context.graphql_document
        if document is None:
            return  # a syntax error, answered as one
        self.operation_name = self.execution_context.operation_name
        try:
            measured = measure(
                document,
                self.execution_context.schema._schema,
                operation_name=self.execution_context.operation_name,
                variables=self.execution_context.variables,
                limits=context.settings.query_limits,
            )
        except QueryTooComplex as too_deep:
            self._refuse(too_deep)
            return
        over = measured.refusal(context.settings.query_limits)
        if over is not None:
            self._refuse(over)
            await self._show_cost_budget(context)
            return
        self.cost = measured.cost
        try:
            paid = await context.runtime.budgets.spend_cost(self._spender(context), self.cost)
            self._show_cost(context, paid)
            self._take_subscription(context)
        except RateLimited as spent:
            self.cost = 0
            self._refuse(spent)
            self._show_cost(context, spent.allowance)
        except SocketCapReached as capped:
            self.cost = 0
            self._refuse(capped)

    def on_execute(self) -> Iterator[None]:
        if self.refusal is not None:
            # Strawberry uses a result already set instead of executing the operation.
            self.execution_context.result = PreExecutionError(
                data=None, errors=[public_error(self.refusal)]
            )
        yield

    def get_results(self) -> dict[str, Any]:
        return {"cost": self.cost}

    # -- steps -------------------------------------------------------------------------------

    async def _before_parsing(self, context: Context) -> None:
        budgets = context.runtime.budgets
        try:
            allowance = await budgets.spend_request(self._spender(context))
        except RateLimited as spent:
            self._refuse(spent)
            _set_headers(context, spent.allowance, "X-RateLimit")
            await self._show_cost_budget(context)
            return
        _set_headers(context, allowance, "X-RateLimit")
        too_long = count_tokens(self.execution_context.query or "", context.settings.query_limits)
        if too_long is not None:
            self._refuse(too_long)
            await self._show_cost_budget(context)

    def _take_subscription(self, context: Context) -> None:
        try:
            is_subscription = self.execution_context.operation_type is OperationType.SUBSCRIPTION
        except RuntimeError:
            return  # no single operation to run: answered as a request error
        if not is_subscription:
            return
        principal = context.principal
        self.subscription = context.runtime.sockets.subscribe(
            id(context), principal.tenant_id if principal else None
        )
        metrics.SUBSCRIPTIONS_ACTIVE.inc()

    def _refuse(self, refusal: Refusal) -> None:
        self.refusal = refusal
        # A name that is no GraphQL name is answered as an unknown operation: still not run.
        query = refused_query(self.execution_context.operation_name)
        self.execution_context.query = query
        self.execution_context.graphql_document = parse(query)

    def _spender(self, context: Context) -> Spender:
        principal = context.principal
        if principal is None:
            return Spender.anonymous(context.client_address)
        return Spender.tenant(principal.tenant_id, principal.plan)

    async def _show_cost_budget(self, context: Context) -> None:
        allowance = await context.runtime.budgets.cost_allowance(self._spender(context))
        self._show_cost(context, allowance)

    def _show_cost(self, context: Context, allowance: Allowance | None) -> None:
        _set_headers(context, allowance, "X-Cost")

    def _record(self, context: Context) -> None:
        principal = context.principal
        result = self.execution_context.result
        errors: list[GraphQLError] = list(getattr(result, "errors", None) or [])
        codes = [str((error.extensions or {}).get("code", "BAD_USER_INPUT")) for error in errors]
        tenant_id = principal.tenant_id if principal else None
        if isinstance(context.request, Request):
            record = OperationRecord(self.operation_name, tenant_id, self.cost, codes)
            context.request.state.graphql_operation = record
            return
        runtime = context.runtime
        operation = runtime.operation_labels.label(self.operation_name)
        tenant = runtime.tenant_labels.label(tenant_id)
        metrics.REQUESTS.labels(operation, tenant, "websocket").inc()
        for code in codes:
            metrics.ERRORS.labels(operation, tenant, code).inc()


def _set_headers(context: Context, allowance: Allowance | None, prefix: str) -> None:
    response = context.response
    if allowance is None or not isinstance(response, Response):
        return
    response.headers[f"{prefix}-Limit"] = str(allowance.limit)
    response.headers[f"{prefix}-Remaining"] = str(allowance.remaining)
    if prefix == "X-RateLimit":
        response.headers[f"{prefix}-Reset"] = str(math.ceil(allowance.reset_at))
