"""Telling a leak from a missing id: the answer for another tenant's id must be the answer for a
random well-formed id of the same type, once each id is replaced by a placeholder."""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterable
from typing import Any

from tenantflow.global_ids import encode_global_id, parse_global_id


def random_id_like(global_id: str, type_name: str | None = None) -> str:
    """A well-formed id of the same type (or `type_name`) that names no row."""
    parsed = parse_global_id(global_id)
    kind = type_name or (parsed[0] if parsed else "Node")
    return encode_global_id(kind, uuid.uuid4())


def _keys(global_id: str) -> list[str]:
    parsed = parse_global_id(global_id)
    return [global_id, parsed[1]] if parsed else [global_id]


def normalised(answer: Any, ids: Iterable[str]) -> str:
    """The answer as JSON with each of `ids` (and its raw key) replaced by a placeholder."""
    text = json.dumps(answer, sort_keys=True)
    for value in ids:
        for key in _keys(value):
            if key:
                text = text.replace(json.dumps(key)[1:-1], "<ID>")
    return text


def differs(candidate: Any, candidate_id: str, baseline: Any, baseline_id: str) -> str | None:
    """None when the two answers are the same; else both, shortened, for the report."""
    left, right = normalised(candidate, [candidate_id]), normalised(baseline, [baseline_id])
    if left == right:
        return None
    return f"with the id: {left[:300]}; with a missing id: {right[:300]}"


def mentions(answer: Any, needles: Iterable[str]) -> list[str]:
    """Which of `needles` (ids, raw keys, markers) occur anywhere in the answer."""
    text = json.dumps(answer)
    found: list[str] = []
    for needle in needles:
        if any(key and key in text for key in _keys(needle)):
            found.append(needle)
    return found
