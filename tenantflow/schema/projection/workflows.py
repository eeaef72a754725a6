"""The projected `workflows` connection and `workflow(id:)`: one statement each.

The statement selects the page of workflows as the general path's listing does (same conditions,
same keyset order and cursor scope), and joins each workflow's owner (only while a member of the
tenant, as the users loader does) and, through a LATERAL sub-select, its first executions in the
order of `Workflow.executions`. The total comes from a window count over the same rows when the
page starts at the top, else from one count statement.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa
from sqlmodel import col
from sqlmodel.ext.asyncio.session import AsyncSession

from tenantflow.auth.permissions import Permission
from tenantflow.auth.principal import Principal
from tenantflow.db.models import Execution, Membership, User, Workflow
from tenantflow.db.pagination import SORT_KEY, Listing, Page, PageArgs, count_rows, page_of, paged
from tenantflow.db.session import TenantDb, execute
from tenantflow.schema.arguments import page_args
from tenantflow.schema.ids import uuid_of
from tenantflow.schema.projection.selections import Selected, Unsupported
from tenantflow.schema.projection.shapes import (
    EXECUTION_FIELDS,
    USER_FIELDS,
    WORKFLOW_FIELDS,
    ConnectionShape,
    ObjectShape,
    Reader,
)
from tenantflow.services.workflows import reads

TOTAL = "_total"
OWNER = "owner__"
RUN = "run__"
RUN_SORT_KEY = "run___sort_key"


@dataclass(frozen=True)
class NodePlan:
    """A Workflow node's selection: its own fields, its owner, its first executions."""

    shape: ObjectShape
    owner_key: str | None
    executions_key: str | None
    executions_args: PageArgs | None

    @property
    def owner(self) -> ObjectShape | None:
        return self.shape.objects[self.owner_key] if self.owner_key else None

    @property
    def executions(self) -> ConnectionShape | None:
        return self.shape.connections[self.executions_key] if self.executions_key else None


def node_plan(selected: Selected) -> NodePlan:
    executions: list[tuple[str, PageArgs]] = []

    def owner(child: Selected) -> ObjectShape:
        return ObjectShape.of("User", child.children, USER_FIELDS)

    def execution_connection(child: Selected) -> ConnectionShape:
        arguments = child.arguments
        if any(arguments.get(name) is not None for name in ("after", "last", "before", "filter")):
            raise Unsupported("Workflow.executions with more than `first`")
        executions.append((child.key, page_args(arguments.get("first"), None, None, None)))

        def node(grandchild: Selected) -> ObjectShape:
            return ObjectShape.of("Execution", grandchild.children, EXECUTION_FIELDS)

        return ConnectionShape.of("Execution", child.children, node)

    shape = ObjectShape.of(
        "Workflow",
        selected.children,
        WORKFLOW_FIELDS,
        children={"owner": owner, "executions": execution_connection},
    )
    if len(shape.objects) > 1 or len(executions) > 1:
        raise Unsupported("owner or executions selected twice")
    connection = shape.connections.get(executions[0][0]) if executions else None
    if connection is not None and connection.total_count_keys:
        raise Unsupported("Workflow.executions.totalCount")
    return NodePlan(
        shape=shape,
        owner_key=next(iter(shape.objects), None),
        executions_key=executions[0][0] if executions else None,
        executions_args=executions[0][1] if executions else None,
    )


def _require_read(principal: Principal) -> None:
    if not principal.can(Permission.WORKFLOW_READ):
        raise Unsupported("refused: the general path answers FORBIDDEN")


# ---------------------------------------------------------------- the statement


def _workflow_columns(plan: NodePlan) -> list[Any]:
    names = plan.shape.columns | {"id"} | ({"owner_id"} if plan.owner else set())
    return [col(getattr(Workflow, name)).label(name) for name in sorted(names)]


def _joined(plan: NodePlan, page: sa.Subquery) -> tuple[sa.Select[Any], Any]:
    """The page joined with owners and first executions; the LATERAL sub-select, if any."""
    columns: list[Any] = [page]
    joined: Any = page
    if plan.owner is not None:
        member = sa.exists().where(col(Membership.user_id) == col(User.id))
        joined = joined.outerjoin(User, (col(User.id) == page.c.owner_id) & member)
        columns += [
            col(getattr(User, name)).label(OWNER + name)
            for name in sorted(plan.owner.columns | {"id"})
        ]
    recent = None
    if plan.executions is not None and plan.executions_args is not None:
        node = plan.executions.node
        names = (node.columns if node else set()) | {"id"}
        order = reads.EXECUTION_ORDER
        recent = (
            sa.select(
                *(col(getattr(Execution, name)).label(RUN + name) for name in sorted(names)),
                order.key.label(RUN_SORT_KEY),
            )
            .where(col(Execution.workflow_id) == page.c.id)
            .order_by(order.key.desc(), order.id.desc())
            .limit(plan.executions_args.size + 1)
            .lateral("recent")
        )
        joined = joined.outerjoin(recent, sa.true())
        columns.append(recent)
    return sa.select(*columns).select_from(joined), recent


Row = Sequence[Any]


@dataclass
class _Fetched:
    """One workflow's row, and its executions' rows (in execution order)."""

    row: Row
    runs: list[Row]


@dataclass(frozen=True)
class _Result:
    """The fetched workflows, and where each named column is in their rows."""

    workflows: list[_Fetched]
    positions: dict[str, int]

    def value(self, row: Row, name: str) -> Any:
        return row[self.positions[name]]


async def _fetch(
    session: AsyncSession, plan: NodePlan, page: sa.Subquery, descending: bool | None
) -> _Result:
    """Every workflow of `page` with what `plan` joins, in the page's order."""
    statement, recent = _joined(plan, page)
    if descending is not None:
        direction = sa.desc if descending else sa.asc
        statement = statement.order_by(direction(page.c[SORT_KEY]), direction(page.c.id))
    if recent is not None:
        statement = statement.order_by(
            recent.c[RUN_SORT_KEY].desc().nulls_last(), recent.c[RUN + "id"].desc()
        )
    result = await execute(session, statement)
    positions = {str(name): index for index, name in enumerate(result.keys())}
    id_at = positions["id"]
    run_at = positions.get(RUN + "id")
    workflows: list[_Fetched] = []
    for row in result:
        if not workflows or workflows[-1].row[id_at] != row[id_at]:
            workflows.append(_Fetched(row, []))
        if run_at is not None and row[run_at] is not None:
            workflows[-1].runs.append(row)
    return _Result(workflows, positions)


# ---------------------------------------------------------------- rendering


@dataclass(frozen=True)
class _NodeReaders:
    """A NodePlan's readers for the columns of one fetched result."""

    plan: NodePlan
    result: _Result
    node: Reader
    owner: Reader | None
    run: Reader | None

    @classmethod
    def of(cls, plan: NodePlan, result: _Result) -> _NodeReaders:
        positions = result.positions
        owner = plan.owner.reader(positions, OWNER) if plan.owner else None
        run_node = plan.executions.node if plan.executions else None
        run = run_node.reader(positions, RUN) if run_node else None
        return cls(plan, result, plan.shape.reader(positions), owner, run)

    def render(self, fetched: _Fetched) -> dict[str, Any]:
        plan, result, row = self.plan, self.result, fetched.row
        values = self.node(row)
        if plan.owner_key is not None and self.owner is not None:
            visible = result.value(row, OWNER + "id") is not None
            values[plan.owner_key] = self.owner(row) if visible else None
        connection, args = plan.executions, plan.executions_args
        if plan.executions_key is not None and connection is not None and args is not None:
            workflow_id = result.value(row, "id")
            scope = reads.workflow_executions_scope(workflow_id, reads.ExecutionCriteria())
            runs: Page[Row] = page_of(
                fetched.runs,
                args,
                scope,
                sort_key=lambda run: result.value(run, RUN_SORT_KEY),
                row_id=lambda run: result.value(run, RUN + "id"),
            )
            run = self.run
            nodes = [run(item) if run else {} for item in runs.rows]
            values[plan.executions_key] = connection.render(runs, nodes, None)
        return values


# ---------------------------------------------------------------- the root fields


@dataclass(frozen=True)
class WorkflowsField:
    """Query.workflows as projected."""

    listing: Listing
    args: PageArgs
    connection: ConnectionShape
    plan: NodePlan

    @classmethod
    def of(
        cls,
        selected: Selected,
        principal: Principal,
        listing_of: Callable[[Mapping[str, Any]], Listing],
    ) -> WorkflowsField:
        _require_read(principal)
        arguments = selected.arguments
        args = page_args(
            arguments.get("first"),
            arguments.get("after"),
            arguments.get("last"),
            arguments.get("before"),
        )
        plans: list[NodePlan] = []

        def node(child: Selected) -> ObjectShape:
            plans.append(node_plan(child))
            return plans[-1].shape

        connection = ConnectionShape.of("Workflow", selected.children, node)
        plan = plans[0] if plans else NodePlan(ObjectShape("Workflow", (), ()), None, None, None)
        return cls(listing_of(arguments), args, connection, plan)

    async def resolve(self, db: TenantDb) -> dict[str, Any]:
        listing, args = self.listing, self.args
        # A page that starts at the top counts its listing with a window over the same rows.
        windowed = bool(self.connection.total_count_keys) and not (args.after or args.before)
        conditions = listing.statement.whereclause
        inner = sa.select(*_workflow_columns(self.plan))
        if conditions is not None:
            inner = inner.where(conditions)
        if windowed:
            inner = inner.add_columns(sa.func.count().over().label(TOTAL))
        page = paged(inner, listing.order, args, listing.scope).subquery("page")
        descending = listing.order.descending if args.forward else not listing.order.descending
        async with db.reader() as session:
            result = await _fetch(session, self.plan, page, descending)
            total: int | None = None
            if self.connection.total_count_keys:
                # No row fetched: the window had nothing to count over (a page past the end).
                if windowed and result.workflows:
                    total = int(result.value(result.workflows[0].row, TOTAL))
                else:
                    total = await count_rows(session, listing.statement)
        workflows: Page[_Fetched] = page_of(
            result.workflows,
            args,
            listing.scope,
            sort_key=lambda item: result.value(item.row, SORT_KEY),
            row_id=lambda item: result.value(item.row, "id"),
        )
        readers = _NodeReaders.of(self.plan, result)
        nodes = [readers.render(item) for item in workflows.rows]
        return self.connection.render(workflows, nodes, total)


@dataclass(frozen=True)
class WorkflowField:
    """Query.workflow(id:) as projected."""

    key: uuid.UUID | None
    plan: NodePlan

    @classmethod
    def of(cls, selected: Selected, principal: Principal) -> WorkflowField:
        _require_read(principal)
        return cls(uuid_of(selected.arguments["id"], "Workflow"), node_plan(selected))

    async def resolve(self, db: TenantDb) -> dict[str, Any] | None:
        if self.key is None:
            return None  # malformed or of another type: as if it did not exist
        live = reads.workflow_conditions(reads.WorkflowCriteria())
        inner = sa.select(*_workflow_columns(self.plan)).where(col(Workflow.id) == self.key, *live)
        async with db.reader() as session:
            result = await _fetch(session, self.plan, inner.subquery("page"), None)
        if not result.workflows:
            return None
        return _NodeReaders.of(self.plan, result).render(result.workflows[0])
