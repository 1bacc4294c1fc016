"""The value model shared by expressions and casts: JSON types, strict equality, JSON text.

Values are what etlkit.http's exact JSON reader produces: a number is an ``int``, a ``float`` or,
when a double cannot hold it, a ``Decimal``, all three one kind compared by :mod:`.numbers`.
``bool`` is its own type here, never a number: Python's ``True == 1`` would make ``flag == 1``
true, which no JSON reader expects.
"""
from __future__ import annotations

import json
from decimal import Decimal
from typing import Any

from ..outrecord import exact_json_text
from .failures import RecordError
from .numbers import NUMBER_TYPES, equal, is_number, number_key

__all__ = ["MAX_COMPARE_DEPTH", "hash_key", "is_number", "json_text", "strict_equal", "type_name"]

# Deep structures are compared recursively; past this depth a record is refused, not a crash.
MAX_COMPARE_DEPTH = 64


def type_name(value: Any) -> str:
    """The JSON name of ``value``'s type, as error messages show it."""
    if value is None:
        return "null"
    kind = type(value)
    if kind is bool:
        return "bool"
    if kind is int or kind is float or kind is Decimal:
        return "number"
    if kind is str:
        return "string"
    if kind is list:
        return "list"
    if kind is dict:
        return "object"
    return kind.__name__


def strict_equal(a: Any, b: Any, depth: int = 0) -> bool:
    """JSON equality: same type (int, float and Decimal all count as number) and equal content."""
    ta, tb = type(a), type(b)
    if ta is not tb:
        return ta in NUMBER_TYPES and tb in NUMBER_TYPES and equal(a, b)
    if ta is Decimal:
        return a == b  # exact between two Decimals, whatever the context
    if ta is list:
        if len(a) != len(b):
            return False
        _check_depth(depth)
        return all(strict_equal(x, y, depth + 1) for x, y in zip(a, b))
    if ta is dict:
        if a.keys() != b.keys():
            return False
        _check_depth(depth)
        return all(strict_equal(a[k], b[k], depth + 1) for k in a)
    return a == b


def _check_depth(depth: int) -> None:
    if depth >= MAX_COMPARE_DEPTH:
        raise RecordError(f"value nested deeper than {MAX_COMPARE_DEPTH} levels")


def hash_key(value: Any) -> tuple[str, Any] | None:
    """A set key equal for strictly equal scalars (``1``, ``1.0`` and ``Decimal("1.00")``, not
    ``1`` and ``true``).

    ``None`` for lists and objects, which are compared one by one instead.
    """
    kind = type(value)
    if kind is int or kind is float or kind is Decimal:
        return ("n", number_key(value))
    if kind is str:
        return ("s", value)
    if kind is bool:
        return ("b", value)
    if value is None:
        return ("z", None)
    return None


def json_text(value: Any) -> str:
    """Compact, key-sorted JSON text: a deterministic rendering of any JSON value (a Decimal with
    its digits, by the one exact writer)."""
    try:
        try:
            return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False,
                              allow_nan=False)
        except TypeError:  # a Decimal in it, which the stdlib cannot write
            return exact_json_text(value, sort_keys=True, ensure_ascii=False)
    except (TypeError, ValueError, RecursionError) as exc:
        raise RecordError(f"value is not representable as JSON ({exc})") from None
