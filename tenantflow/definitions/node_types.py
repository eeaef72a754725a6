"""The built-in node types of the contract, by name: noop, delay, transform, fail and http."""

from __future__ import annotations

import asyncio
from collections.abc import Mapping
from types import MappingProxyType
from typing import Any

from tenantflow.definitions.http_node import HttpRequest
from tenantflow.definitions.node_base import (
    FieldProblem,
    NodeContext,
    NodeFailure,
    NodeType,
    is_int,
    join_key,
)

__all__ = ["NODE_TYPES", "NodeFailure"]

DELAY_MAX_MS = 10_000
FAIL_MESSAGE_MAX_CHARS = 1_000


class Noop(NodeType):
    """Passes its input on."""

    name = "noop"

    def check_settings(self, config: Mapping[str, object], *, path: str) -> list[FieldProblem]:
        return []

    async def run(self, config: Mapping[str, Any], input: Any, context: NodeContext) -> Any:
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

    async def run(self, config: Mapping[str, Any], input: Any, context: NodeContext) -> Any:
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

    async def run(self, config: Mapping[str, Any], input: Any, context: NodeContext) -> Any:
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

    async def run(self, config: Mapping[str, Any], input: Any, context: NodeContext) -> Any:
        raise NodeFailure(config["message"])


NODE_TYPES: Mapping[str, NodeType] = MappingProxyType(
    {
        node_type.name: node_type
        for node_type in (Noop(), Delay(), Transform(), Fail(), HttpRequest())
    }
)
