"""Built-in node types: how each validates its `config` and what it does when it runs.

Adding a type means writing a `NodeType` subclass and listing an instance in `NODE_TYPES`.
`validate_config` is pure; `run` is only ever given a config that passed `validate_config`.
"""

from __future__ import annotations

import asyncio
import json
import re
from abc import ABC, abstractmethod
from collections.abc import Mapping
from dataclasses import dataclass
from types import MappingProxyType
from typing import Any, ClassVar, TypeGuard

DELAY_MAX_MS = 10_000
FAIL_MESSAGE_MAX_CHARS = 1_000

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
    async def run(self, config: Mapping[str, Any], input: Any) -> Any:
        """The node's output for `input` (the merge of its predecessors' outputs)."""


class Noop(NodeType):
    """Passes its input on."""

    name = "noop"

    def check_settings(self, config: Mapping[str, object], *, path: str) -> list[FieldProblem]:
        return []

    async def run(self, config: Mapping[str, Any], input: Any) -> Any:
        return input


class Delay(NodeType):
    """Waits `ms` milliseconds, then passes its input on."""

    name = "delay"
    config_keys = ("ms",)

    def check_settings(self, config: Mapping[str, object], *, path: str) -> list[FieldProblem]:
        allowed = f"an integer from 0 to {DELAY_MAX_MS} (milliseconds)"
        if "ms" not in config:
            return [FieldProblem(join_key(path, "ms"), f"is required: {allowed}")]
        ms = config["ms"]
        if not is_int(ms) or not 0 <= ms <= DELAY_MAX_MS:
            return [FieldProblem(join_key(path, "ms"), f"must be {allowed}")]
        return []

    async def run(self, config: Mapping[str, Any], input: Any) -> Any:
        await asyncio.sleep(config["ms"] / 1000)
        return input


class Transform(NodeType):
    """Passes on its input merged with `set`.

    A dict input gives `{**input, **set}` (keys of `set` win; a shallow merge). Any other input
    (a list, a scalar, null) cannot be merged into, so the output is a copy of `set` alone.
    """

    name = "transform"
    config_keys = ("set",)

    def check_settings(self, config: Mapping[str, object], *, path: str) -> list[FieldProblem]:
        allowed = "an object of the keys to set on the input"
        if "set" not in config:
            return [FieldProblem(join_key(path, "set"), f"is required: {allowed}")]
        if not isinstance(config["set"], dict):
            return [FieldProblem(join_key(path, "set"), f"must be {allowed}")]
        return []

    async def run(self, config: Mapping[str, Any], input: Any) -> Any:
        updates: Mapping[str, Any] = config["set"]
        if isinstance(input, dict):
            return {**input, **updates}
        return dict(updates)


class Fail(NodeType):
    """Fails the step, and with it the execution, with `message`."""

    name = "fail"
    config_keys = ("message",)

    def check_settings(self, config: Mapping[str, object], *, path: str) -> list[FieldProblem]:
        allowed = f"a string of 1 to {FAIL_MESSAGE_MAX_CHARS} characters"
        if "message" not in config:
            return [FieldProblem(join_key(path, "message"), f"is required: {allowed}")]
        message = config["message"]
        if not isinstance(message, str) or not 1 <= len(message) <= FAIL_MESSAGE_MAX_CHARS:
            return [FieldProblem(join_key(path, "message"), f"must be {allowed}")]
        return []

    async def run(self, config: Mapping[str, Any], input: Any) -> Any:
        raise NodeFailure(config["message"])


NODE_TYPES: Mapping[str, NodeType] = MappingProxyType(
    {node_type.name: node_type for node_type in (Noop(), Delay(), Transform(), Fail())}
)
