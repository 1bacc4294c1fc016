"""Window accumulators: count, sum, min, max, avg, each a JSON-serialisable value.

An accumulator is a plain JSON value so window state persists as JSON with no custom encoding:
``count`` an int, ``sum``/``min``/``max`` a number or null (no value seen yet), ``avg`` a
``[sum, count]`` pair. Null field values are skipped, as SQL aggregates do.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable

from .values import is_number

OPS = ("count", "sum", "min", "max", "avg")


@dataclass(frozen=True)
class AccumulatorKind:
    """``initial`` for an empty window, ``add`` folds one non-null number in, ``result`` reads
    the final value, ``valid`` checks a persisted accumulator."""

    initial: Callable[[], Any]
    add: Callable[[Any, Any], Any]
    result: Callable[[Any], Any]
    valid: Callable[[Any], bool]


def _optional_number(value: Any) -> bool:
    return value is None or is_number(value)


KINDS: dict[str, AccumulatorKind] = {
    "count": AccumulatorKind(lambda: 0, lambda acc, _: acc + 1, lambda acc: acc,
                             lambda acc: type(acc) is int and acc >= 0),
    "sum": AccumulatorKind(lambda: None, lambda acc, x: x if acc is None else acc + x,
                           lambda acc: acc, _optional_number),
    "min": AccumulatorKind(lambda: None, lambda acc, x: x if acc is None or x < acc else acc,
                           lambda acc: acc, _optional_number),
    "max": AccumulatorKind(lambda: None, lambda acc, x: x if acc is None or x > acc else acc,
                           lambda acc: acc, _optional_number),
    "avg": AccumulatorKind(lambda: [0, 0], lambda acc, x: [acc[0] + x, acc[1] + 1],
                           lambda acc: acc[0] / acc[1] if acc[1] else None,
                           lambda acc: (type(acc) is list and len(acc) == 2 and is_number(acc[0])
                                        and type(acc[1]) is int and acc[1] >= 0)),
}
