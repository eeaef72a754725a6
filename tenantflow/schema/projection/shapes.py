"""What a projected response looks like: which fields of which objects, read from which columns.

A shape is built from the operation's selections (Unsupported for anything it does not know) and
later renders rows into the response, with the formatters the general path's types use. The
columns a shape needs are the only ones selected.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from enum import Enum
from typing import Any

from tenantflow.db.pagination import Page
from tenantflow.schema.ids import to_global_id
from tenantflow.schema.projection.selections import Selected, Unsupported
from tenantflow.services.workflows.reads import duration_ms


def _as_is(value: Any) -> Any:
    return value


def _enum(value: Enum | None) -> Any:
    return None if value is None else value.value


def _time(value: datetime | None) -> str | None:
    # Strawberry's DateTime scalar serialises with isoformat().
    return None if value is None else value.isoformat()


def _global_id(type_name: str) -> Callable[[uuid.UUID | None], str | None]:
    def render(value: uuid.UUID | None) -> str | None:
        return None if value is None else str(to_global_id(type_name, value))

    return render


@dataclass(frozen=True)
class Scalar:
    """A field read from columns of the row (by their names in the statement)."""

    columns: tuple[str, ...]
    render: Callable[..., Any]


def column(name: str, render: Callable[[Any], Any] = _as_is) -> Scalar:
    return Scalar((name,), render)


# The projected fields of each type: GraphQL field name -> how it is read.
WORKFLOW_FIELDS: dict[str, Scalar] = {
    "id": column("id", _global_id("Workflow")),
    "name": column("name"),
    "description": column("description"),
    "status": column("status", _enum),
    "version": column("version"),
    "createdAt": column("created_at", _time),
    "updatedAt": column("updated_at", _time),
    "deletedAt": column("deleted_at", _time),
}
USER_FIELDS: dict[str, Scalar] = {
    "id": column("id", _global_id("User")),
    "email": column("email"),
    "name": column("name"),
    "createdAt": column("created_at", _time),
}
EXECUTION_FIELDS: dict[str, Scalar] = {
    "id": column("id", _global_id("Execution")),
    "workflowVersion": column("workflow_version"),
    "status": column("status", _enum),
    "error": column("error"),
    "queuedAt": column("queued_at", _time),
    "startedAt": column("started_at", _time),
    "finishedAt": column("finished_at", _time),
    "durationMs": Scalar(("started_at", "finished_at"), duration_ms),
}
PAGE_INFO_FIELDS = ("hasNextPage", "hasPreviousPage", "startCursor", "endCursor")


Reader = Callable[[Sequence[Any]], dict[str, Any]]


def _scalar_step(
    key: str, scalar: Scalar, positions: Mapping[str, int], prefix: str
) -> Callable[[Sequence[Any], dict[str, Any]], None]:
    indexes = tuple(positions[prefix + name] for name in scalar.columns)
    render = scalar.render
    if len(indexes) == 1:
        (index,) = indexes

        def one(row: Sequence[Any], values: dict[str, Any]) -> None:
            values[key] = render(row[index])

        return one

    def several(row: Sequence[Any], values: dict[str, Any]) -> None:
        values[key] = render(*(row[i] for i in indexes))

    return several


def _constant_step(key: str, value: Any) -> Callable[[Sequence[Any], dict[str, Any]], None]:
    def constant(_row: Sequence[Any], values: dict[str, Any]) -> None:
        values[key] = value

    return constant


def _no_arguments(selected: Selected) -> None:
    if any(value is not None for value in selected.arguments.values()):
        raise Unsupported(f"arguments of {selected.name}")


@dataclass(frozen=True)
class ObjectShape:
    """The selected fields of one object type, in selection order."""

    type_name: str
    scalars: tuple[tuple[str, Scalar], ...]  # (response key, field)
    typename_keys: tuple[str, ...]
    # Keyed by response key: the keys' positions in `order` place them in the response.
    objects: dict[str, ObjectShape] = field(default_factory=dict)
    connections: dict[str, ConnectionShape] = field(default_factory=dict)
    order: tuple[str, ...] = ()

    @classmethod
    def of(
        cls,
        type_name: str,
        selections: tuple[Selected, ...],
        fields: Mapping[str, Scalar],
        *,
        children: Mapping[str, Callable[[Selected], ObjectShape | ConnectionShape]] | None = None,
    ) -> ObjectShape:
        scalars: list[tuple[str, Scalar]] = []
        typenames: list[str] = []
        objects: dict[str, ObjectShape] = {}
        connections: dict[str, ConnectionShape] = {}
        for selected in selections:
            if selected.name == "__typename":
                typenames.append(selected.key)
            elif selected.name in fields:
                _no_arguments(selected)
                scalars.append((selected.key, fields[selected.name]))
            elif children is not None and selected.name in children:
                child = children[selected.name](selected)
                if isinstance(child, ObjectShape):
                    objects[selected.key] = child
                else:
                    connections[selected.key] = child
            else:
                raise Unsupported(f"{type_name}.{selected.name}")
        order = tuple(selected.key for selected in selections)
        return cls(type_name, tuple(scalars), tuple(typenames), objects, connections, order)

    @property
    def columns(self) -> set[str]:
        return {name for _, scalar in self.scalars for name in scalar.columns}

    def reader(self, positions: Mapping[str, int], prefix: str = "") -> Reader:
        """A function from a fetched row (by column positions: the names in the statement are
        `prefix` + column) to the object's fields, in selection order; object and connection
        fields are None there, for the caller to fill in."""
        scalars = dict(self.scalars)
        steps: list[Callable[[Sequence[Any], dict[str, Any]], None]] = []
        for key in self.order:
            if key in scalars:
                steps.append(_scalar_step(key, scalars[key], positions, prefix))
            elif key in self.typename_keys:
                steps.append(_constant_step(key, self.type_name))
            else:
                steps.append(_constant_step(key, None))

        def read(row: Sequence[Any]) -> dict[str, Any]:
            values: dict[str, Any] = {}
            for step in steps:
                step(row, values)
            return values

        return read


@dataclass(frozen=True)
class ConnectionShape:
    """A `<Type>Connection` selection: edges (cursor, node), pageInfo, totalCount."""

    type_name: str  # of the nodes
    node: ObjectShape | None
    order: tuple[str, ...]
    edges_key: str | None
    edge_order: tuple[str, ...]
    edge_cursor_keys: tuple[str, ...]
    edge_node_key: str | None
    edge_typename_keys: tuple[str, ...]
    page_info_key: str | None
    page_info: tuple[tuple[str, str], ...]  # (response key, field)
    total_count_keys: tuple[str, ...]
    typename_keys: tuple[str, ...]

    @classmethod
    def of(
        cls,
        type_name: str,
        selections: tuple[Selected, ...],
        node: Callable[[Selected], ObjectShape],
    ) -> ConnectionShape:
        edges = [selected for selected in selections if selected.name == "edges"]
        infos = [selected for selected in selections if selected.name == "pageInfo"]
        if len(edges) > 1 or len(infos) > 1:
            raise Unsupported("edges or pageInfo selected twice")
        known = {"edges", "pageInfo", "totalCount", "__typename"}
        for selected in selections:
            if selected.name not in known:
                raise Unsupported(f"{type_name}Connection.{selected.name}")
        edge = _EdgeSelection.of(type_name, edges[0], node) if edges else _EdgeSelection()
        page_info: list[tuple[str, str]] = []
        for child in infos[0].children if infos else ():
            if child.name not in (*PAGE_INFO_FIELDS, "__typename"):
                raise Unsupported(f"PageInfo.{child.name}")
            page_info.append((child.key, child.name))
        return cls(
            type_name=type_name,
            node=edge.node,
            order=tuple(selected.key for selected in selections),
            edges_key=edges[0].key if edges else None,
            edge_order=edge.order,
            edge_cursor_keys=edge.cursor_keys,
            edge_node_key=edge.node_key,
            edge_typename_keys=edge.typename_keys,
            page_info_key=infos[0].key if infos else None,
            page_info=tuple(page_info),
            total_count_keys=_keys(selections, "totalCount"),
            typename_keys=_keys(selections, "__typename"),
        )

    def render(
        self, page: Page[Any], nodes: list[dict[str, Any]], total: int | None
    ) -> dict[str, Any]:
        """The connection of `page`, its rows already rendered as `nodes` (in page order)."""
        values: dict[str, Any] = {}
        if self.edges_key is not None:
            edges = []
            for cursor, node in zip(page.cursors, nodes, strict=True):
                edge: dict[str, Any] = {}
                for key in self.edge_cursor_keys:
                    edge[key] = cursor
                if self.edge_node_key is not None:
                    edge[self.edge_node_key] = node
                for key in self.edge_typename_keys:
                    edge[key] = f"{self.type_name}Edge"
                edges.append({key: edge[key] for key in self.edge_order})
            values[self.edges_key] = edges
        if self.page_info_key is not None:
            info = {
                "hasNextPage": page.has_next_page,
                "hasPreviousPage": page.has_previous_page,
                "startCursor": page.cursors[0] if page.cursors else None,
                "endCursor": page.cursors[-1] if page.cursors else None,
                "__typename": "PageInfo",
            }
            values[self.page_info_key] = {key: info[name] for key, name in self.page_info}
        for key in self.total_count_keys:
            values[key] = total
        for key in self.typename_keys:
            values[key] = f"{self.type_name}Connection"
        return {key: values[key] for key in self.order}


def _keys(selections: tuple[Selected, ...], name: str) -> tuple[str, ...]:
    return tuple(selected.key for selected in selections if selected.name == name)


@dataclass(frozen=True)
class _EdgeSelection:
    order: tuple[str, ...] = ()
    cursor_keys: tuple[str, ...] = ()
    node_key: str | None = None
    node: ObjectShape | None = None
    typename_keys: tuple[str, ...] = ()

    @classmethod
    def of(
        cls, type_name: str, edges: Selected, node: Callable[[Selected], ObjectShape]
    ) -> _EdgeSelection:
        nodes = [child for child in edges.children if child.name == "node"]
        if len(nodes) > 1:
            raise Unsupported("node selected twice")
        for child in edges.children:
            if child.name not in ("cursor", "node", "__typename"):
                raise Unsupported(f"{type_name}Edge.{child.name}")
        return cls(
            order=tuple(child.key for child in edges.children),
            cursor_keys=_keys(edges.children, "cursor"),
            node_key=nodes[0].key if nodes else None,
            node=node(nodes[0]) if nodes else None,
            typename_keys=_keys(edges.children, "__typename"),
        )
