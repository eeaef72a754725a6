"""What every node type is: the `NodeType` interface, the `NodeContext` its run is given, and
the helpers their config checks share (field paths, echoing user data).

Adding a type means writing a `NodeType` subclass and listing an instance in
`node_types.NODE_TYPES`. `validate_config` is pure; `run` is only ever given a config that passed
`validate_config`.
"""

from __future__ import annotations

import json
import re
import uuid
from abc import ABC, abstractmethod
from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, ClassVar, Protocol, TypeGuard

if TYPE_CHECKING:
    from tenantflow.outbound.policy import OutboundPolicy

# Keys that can follow a "." in a path unambiguously; anything else is written as ["…"].
_PLAIN_KEY = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
# Paths and messages echo user data; cap what is echoed so a problem list stays small.
_ECHO_MAX_CHARS = 60
# A Python str holds a surrogate only when it is unpaired, which no UTF-8 response can carry.
_SURROGATE = re.compile("[\ud800-\udfff]")


@dataclass(frozen=True, slots=True)
class FieldProblem:
    """One bad input: `field` is a path like `input.definition.nodes[3].config.ms`."""

    field: str
    message: str


class NodeFailure(Exception):
    """Raised by a node to fail its step (and the execution) with a message meant for users."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


def shorten(text: str, limit: int = _ECHO_MAX_CHARS) -> str:
    """`text` cut to `limit` characters, with an ellipsis when cut."""
    return text if len(text) <= limit else text[:limit] + "…"


def quote(text: str) -> str:
    """`text` as a JSON string literal, shortened and encodable, for echoing user data."""
    return json.dumps(_SURROGATE.sub("\ufffd", shorten(text)), ensure_ascii=False)


def join_key(path: str, key: str) -> str:
    """The path of `key` inside the object at `path`: `.key`, or `["odd key"]`."""
    if _PLAIN_KEY.fullmatch(key):
        return f"{path}.{key}"
    return f"{path}[{quote(key)}]"


def join_index(path: str, index: int) -> str:
    """The path of item `index` inside the list at `path`."""
    return f"{path}[{index}]"


def is_int(value: object) -> TypeGuard[int]:
    """A JSON integer: `bool` is an `int` subclass in Python but not a number in JSON."""
    return isinstance(value, int) and not isinstance(value, bool)


class NodeContext(Protocol):
    """What a running node may know and use besides its config and input: one per step, the
    same object for every node type (tenantflow.executor.step_context builds it)."""

    @property
    def tenant_id(self) -> uuid.UUID: ...

    @property
    def execution_id(self) -> uuid.UUID: ...

    @property
    def node_id(self) -> str: ...

    @property
    def outbound(self) -> OutboundPolicy:
        """Which addresses outbound requests may reach (TENANTFLOW_HTTP_ALLOW applied)."""

    async def provider_key_secret(self, key_id: str) -> str:
        """The secret of one of the tenant's own active provider keys, by its global id; each
        call writes a `provider_key.use` audit row. NodeFailure, with one message for every
        case, when the id names no such key (unknown, malformed, revoked, another tenant's)."""


class NodeType(ABC):
    """A kind of node. Subclasses set `name` and `config_keys` and implement the two hooks."""

    name: ClassVar[str]
    config_keys: ClassVar[tuple[str, ...]] = ()

    def validate_config(self, config: object, *, path: str) -> list[FieldProblem]:
        """Every problem of `config` (the node's config, located at `path`), in key order."""
        if not isinstance(config, dict):
            return [FieldProblem(path, f"must be an object ({self._allowed()})")]
        problems = [
            FieldProblem(join_key(path, str(key)), f"is not allowed; {self._allowed()}")
            for key in config
            if key not in self.config_keys
        ]
        problems.extend(self.check_settings(config, path=path))
        return problems

    def _allowed(self) -> str:
        if not self.config_keys:
            return f"{self.name} takes no config"
        return f"{self.name} config allows {', '.join(self.config_keys)}"

    @abstractmethod
    def check_settings(self, config: Mapping[str, object], *, path: str) -> list[FieldProblem]:
        """Problems with the known keys of `config` (unknown keys are already reported)."""

    @abstractmethod
    async def run(self, config: Mapping[str, Any], input: Any, context: NodeContext) -> Any:
        """The node's output for `input` (the merge of its predecessors' outputs)."""
