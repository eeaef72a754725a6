"""The Relay `Node` interface and `node(id:)`: each node type registers how it is loaded."""

from __future__ import annotations

import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

import strawberry

from tenantflow.auth.permissions import Permission
from tenantflow.context import Info
from tenantflow.errors import ErrorCode, Refusal
from tenantflow.schema.guards import Authenticated
from tenantflow.schema.ids import parse_global_id


@strawberry.interface(
    description="Relay global object. `id` is opaque (base64 of type name and primary key)."
)
class Node:
    id: strawberry.ID


NodeLoader = Callable[[Info, uuid.UUID], Awaitable[Node | None]]


@dataclass(frozen=True)
class _NodeType:
    load: NodeLoader
    permission: Permission


_NODE_TYPES: dict[str, _NodeType] = {}


def register_node(type_name: str, permission: Permission, load: NodeLoader) -> None:
    """Make `node(id:)` resolve ids of `type_name` with `load` for viewers holding `permission`.

    `load` gets the primary key and returns the node of the request's tenant, or None.
    """
    _NODE_TYPES[type_name] = _NodeType(load, permission)


async def resolve_node(info: Info, global_id: str) -> Node | None:
    parsed = parse_global_id(global_id)
    node_type = _NODE_TYPES.get(parsed[0]) if parsed else None
    if parsed is None or node_type is None:
        return None
    try:
        key = uuid.UUID(parsed[1])
    except ValueError:
        return None
    node = await node_type.load(info, key)
    principal = info.context.require_principal()
    if node is not None and not principal.can(node_type.permission):
        raise Refusal(
            f"This needs the {node_type.permission.value} permission", ErrorCode.FORBIDDEN
        )
    return node


@strawberry.type
class NodeQuery:
    @strawberry.field(permission_classes=[Authenticated])
    async def node(self, info: Info, id: strawberry.ID) -> Node | None:
        return await resolve_node(info, id)
