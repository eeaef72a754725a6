"""The SPA's dashboard costs a constant number of SQL statements, whatever its page size.

Statements are counted with a `before_cursor_execute` listener on the application's own (runtime)
engine, on data where an N+1 would show: 60 workflows with distinct owners (distinct members) and
6 executions each.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import event
from sqlalchemy.engine import Engine

from tenantflow.db import models
from tenantflow.db.session import SessionFactory
from tenantflow.db.types import utcnow
from tenantflow.enums import ExecutionStatus, Plan, Role
from tenantflow.settings import Settings
from tests.api.conftest import GraphQLClient, Member, Members
from tests.api.workflow_helpers import DEFINITION
from tests.conformance.test_reference_clients import SHARED

DASHBOARD = (SHARED / "contract" / "dashboard.graphql").read_text()
WITH_LAST_EXECUTION = DASHBOARD.replace(
    "owner { email }", "owner { email }\n lastExecution { id status }"
)
WORKFLOWS = 60
EXECUTIONS_PER_WORKFLOW = 6


class StatementCounter:
    """Counts statements sent by every engine but the test's own (i.e. the application's)."""

    def __init__(self, excluded: Engine) -> None:
        self.excluded = excluded
        self.statements: list[str] = []
        self.counting = False

    def __call__(self, conn: Any, cursor: Any, statement: str, *args: Any) -> None:
        if self.counting and conn.engine.pool is not self.excluded.pool:
            self.statements.append(statement)

    @contextmanager
    def listening(self) -> Iterator[None]:
        event.listen(Engine, "before_cursor_execute", self)
        try:
            yield
        finally:
            event.remove(Engine, "before_cursor_execute", self)

    @contextmanager
    def count(self) -> Iterator[list[str]]:
        self.statements = []
        self.counting = True
        try:
            yield self.statements
        finally:
            self.counting = False


async def seed(sessions: SessionFactory, owner: Member) -> None:
    """60 workflows, each owned by a member of its own, with 6 executions each."""
    emails = [f"owner-{i}-{uuid.uuid4().hex[:6]}@example.test" for i in range(WORKFLOWS)]
    users = [
        models.User(email=email, email_normalized=email, name=email[:8], password_hash="x")
        for email in emails
    ]
    async with sessions.global_transaction() as session:
        session.add_all(users)
    start = utcnow() - timedelta(days=1)
    async with sessions.tenant_transaction(owner.tenant_id) as session:
        session.add_all(models.Membership(user_id=u.id, role=Role.EDITOR) for u in users)
        workflows = [
            models.Workflow(
                name=f"Workflow {i}",
                definition=DEFINITION,
                owner_id=user.id,
                updated_at=start + timedelta(minutes=i),
            )
            for i, user in enumerate(users)
        ]
        session.add_all(workflows)
        await session.flush()  # executions refer to them (no ORM relationship orders the inserts)
        for i, workflow in enumerate(workflows):
            session.add_all(
                models.Execution(
                    workflow_id=workflow.id,
                    workflow_version=1,
                    definition=DEFINITION,
                    status=ExecutionStatus.SUCCEEDED,
                    queued_at=start + timedelta(minutes=i, seconds=j),
                    started_at=start + timedelta(minutes=i, seconds=j),
                    finished_at=start + timedelta(minutes=i, seconds=j, milliseconds=250),
                )
                for j in range(EXECUTIONS_PER_WORKFLOW)
            )


async def measure(
    gql: GraphQLClient, owner: Member, counter: StatementCounter, query: str, first: int
) -> tuple[int, dict[str, Any]]:
    with counter.count() as statements:
        data = await gql.ok(query, {"first": first}, as_=owner)
    return len(statements), data


def check_page(data: dict[str, Any], first: int, *, with_last: bool) -> None:
    """The answer is complete: statement counts of a half-answered query would prove nothing."""
    connection = data["workflows"]
    assert connection["totalCount"] == WORKFLOWS
    assert connection["pageInfo"]["hasNextPage"] is (first < WORKFLOWS)
    nodes = [edge["node"] for edge in connection["edges"]]
    assert len(nodes) == first
    # newest first: Workflow 59, 58, ...
    assert [node["name"] for node in nodes] == [f"Workflow {59 - i}" for i in range(first)]
    assert len({node["owner"]["email"] for node in nodes}) == first
    for node in nodes:
        executions = [edge["node"] for edge in node["executions"]["edges"]]
        assert len(executions) == 5
        assert {execution["durationMs"] for execution in executions} == {250}
        queued = [execution["queuedAt"] for execution in executions]
        assert queued == sorted(queued, reverse=True)
        if with_last:
            assert node["lastExecution"]["id"] == executions[0]["id"]


@pytest.fixture
def settings(settings: Settings) -> Settings:
    """Uncached: what a request costs when it is computed (tests/api/test_cache.py: when not)."""
    return settings.model_copy(update={"cache": False})


async def test_the_dashboard_costs_the_same_statements_at_first_5_and_first_50(
    gql: GraphQLClient, members: Members, sessions: SessionFactory
) -> None:
    # given
    owner = await members.tenant(plan=Plan.ENTERPRISE)
    await seed(sessions, owner)
    counter = StatementCounter(sessions.engine.sync_engine)
    with counter.listening():
        await gql.ok(DASHBOARD, {"first": 5}, as_=owner)  # warm up per-process caches
        for query, with_last in ((DASHBOARD, False), (WITH_LAST_EXECUTION, True)):
            # when
            small, small_data = await measure(gql, owner, counter, query, 5)
            large, large_data = await measure(gql, owner, counter, query, 50)
            # then
            check_page(small_data, 5, with_last=with_last)
            check_page(large_data, 50, with_last=with_last)
            assert large <= small, (with_last, small, large, counter.statements)
            # a small constant: credentials, the page, totalCount, owners, executions (+ last)
            assert small <= 12, (with_last, small)
            if sessions.engine.dialect.name == "postgresql" and not with_last:
                # projected (schema/projection): the transaction's settings, the credentials,
                # and one statement for the page, its count, owners and executions
                assert small <= 3, counter.statements
