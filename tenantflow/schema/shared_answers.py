"""One execution of a feed's event for all the subscribers that ask the same of it.

A feed hands each event to every subscriber of its tenant (events/feeds.py), and graphql-core
would then execute each subscriber's selection on it again: most of what a delivery costs. Those
whose selection, variables and principal are the same get the same answer, so the event is
executed once and the answer is kept on the event's batch for the others (it goes with the
batch). The principal is part of the key, as in the answer cache (cache/answers.py): nothing
is shared between two principals. Answers with errors are not kept: each subscriber logs and
masks its own.
"""

from __future__ import annotations

import asyncio
from asyncio import Future
from collections.abc import Awaitable, Hashable
from typing import Any

import orjson
from graphql import ExecutionResult, OperationDefinitionNode
from strawberry.schema.schema import StrawberryGraphQLCoreExecutionContext

from tenantflow.context import Context
from tenantflow.schema.executions import ExecutionEvent

Answers = dict[tuple[int, Hashable], Any]


class Selection:
    """What a subscription asks of each event, as a key: the operation itself (by identity;
    held, so that its id is never another's), its variables and the principal."""

    __slots__ = ("_hash", "operation", "principal", "variables")

    def __init__(
        self, operation: OperationDefinitionNode, variables: bytes, principal: Hashable
    ) -> None:
        self.operation = operation
        self.variables = variables
        self.principal = principal
        self._hash = hash((id(operation), variables, principal))

    def __hash__(self) -> int:
        return self._hash

    def __eq__(self, other: object) -> bool:
        return (
            isinstance(other, Selection)
            and other.operation is self.operation
            and other.variables == self.variables
            and other.principal == self.principal
        )


class SharedAnswersExecutor(StrawberryGraphQLCoreExecutionContext):
    """graphql-core's executor, which keeps a feed event's answer for the subscribers with the
    same selection."""

    _selection: Selection | None = None

    def build_per_event_executor(self, payload: Any) -> Any:
        if self._selection is None:
            self._selection = self._selection_of()  # copied into each event's executor
        return super().build_per_event_executor(payload)

    def execute_operation(self, serially: bool | None = None) -> Any:
        event = self.root_value
        if (
            self._selection is None
            or not isinstance(event, ExecutionEvent)
            or event.batch is None  # the subscriber's own replay: nobody to share with
        ):
            return super().execute_operation(serially)
        answers = event.batch.answers
        key = (event.row.seq, self._selection)
        kept = answers.get(key)
        if isinstance(kept, asyncio.Future):
            return self._when_executed(kept, serially)
        if kept is not None:
            return kept
        result = super().execute_operation(serially)
        if not self.is_awaitable(result):
            _keep(answers, key, result)
            return result
        # Its resolvers wait (a loader, say): the subscribers that come meanwhile wait for it
        # rather than execute it again.
        executed: asyncio.Future[Any] = asyncio.get_running_loop().create_future()
        answers[key] = executed
        return _executing(answers, key, result, executed)

    async def _when_executed(self, executed: asyncio.Future[Any], serially: bool | None) -> Any:
        # Shielded: this subscriber's cancellation is not the others'.
        answer = await asyncio.shield(executed)
        if answer is not None:
            return answer
        result = super().execute_operation(serially)  # it failed there: execute it here
        return await result if self.is_awaitable(result) else result

    def _selection_of(self) -> Selection | None:
        context = self.context_value
        principal = context.principal if isinstance(context, Context) else None
        if principal is None:
            return None
        # graphql-core's VariableValues: the coerced values are what the execution sees.
        coerced = self.variable_values.coerced
        variables = orjson.dumps(coerced, option=orjson.OPT_SORT_KEYS, default=str)
        return Selection(self.operation, variables, principal)


async def _executing(
    answers: Answers, key: tuple[int, Hashable], result: Awaitable[Any], executed: Future[Any]
) -> Any:
    """Awaits the first subscriber's execution and hands it to those waiting for it (None: it
    failed or has errors; each of them then executes its own)."""
    answer = None
    try:
        answer = await result
        return answer
    finally:
        answers.pop(key, None)
        if _shareable(answer):
            answers[key] = answer
        executed.set_result(answer if _shareable(answer) else None)


def _keep(answers: Answers, key: tuple[int, Hashable], result: Any) -> None:
    if _shareable(result):
        answers.setdefault(key, result)


def _shareable(result: Any) -> bool:
    return isinstance(result, ExecutionResult) and not result.errors
