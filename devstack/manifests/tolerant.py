"""Tolerant reading of YAML data: the rules run on documents that may have any shape.

A rule must report what is wrong, not crash on it; these accessors give an empty value where a
mapping or a list was expected and something else (or nothing) was found.
"""
from __future__ import annotations

from typing import Any, Mapping, Sequence


def mapping(value: Any) -> Mapping[str, Any]:
    """The value when it is a mapping, else an empty one."""
    return value if isinstance(value, dict) else {}


def sequence(value: Any) -> Sequence[Any]:
    """The value when it is a list, else an empty one."""
    return value if isinstance(value, list) else []


def dig(value: Any, keys: Sequence[Any]) -> Any:
    """``value[k1][k2]...``, or None as soon as a step is not a mapping holding the key."""
    for key in keys:
        value = mapping(value).get(key)
    return value
