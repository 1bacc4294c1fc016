"""Window accumulators: count, sum, min, max, avg, each a JSON-serialisable value.

An accumulator is a plain JSON value so window state persists as JSON with no custom encoding:
``count`` an int, ``sum``/``min``/``max`` a number or null (no value seen yet), ``avg`` a
``[sum, count]`` pair. Null field values are skipped, as SQL aggregates do.

Numbers follow the steps' one rule (:mod:`.numbers`): a sum of ints is an exact int, of floats a
double (rounded at each addition, as SQL's ``double precision``); a Decimal (a number a double
cannot hold) makes the sum exact decimal arithmetic from that value on, a float counted as its
shortest text. ``min``/``max`` compare exactly across the types and keep the winner as it came;
``avg`` divides a Decimal sum by :func:`.numbers.divide`'s rule. A Decimal result is written
with its digits (etlkit.outrecord.json_bytes).
"""
from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from typing import Any, Callable

from .numbers import add, divide, is_number, less

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


def _sum(acc: Any, x: Any) -> Any:
    if acc is None:
        return x
    # Ints and floats by Python's own +, the common case: no call per record.
    return acc + x if type(acc) is not Decimal and type(x) is not Decimal else add(acc, x)


def _min(acc: Any, x: Any) -> Any:
    return x if acc is None or less(x, acc) else acc


def _max(acc: Any, x: Any) -> Any:
    return x if acc is None or less(acc, x) else acc


def _avg(acc: list[Any], x: Any) -> list[Any]:
    return [_sum(acc[0], x), acc[1] + 1]


def _mean(acc: list[Any]) -> Any:
    return divide(acc[0], acc[1]) if acc[1] else None


KINDS: dict[str, AccumulatorKind] = {
    "count": AccumulatorKind(lambda: 0, lambda acc, _: acc + 1, lambda acc: acc,
                             lambda acc: type(acc) is int and acc >= 0),
    "sum": AccumulatorKind(lambda: None, _sum, lambda acc: acc, _optional_number),
    "min": AccumulatorKind(lambda: None, _min, lambda acc: acc, _optional_number),
    "max": AccumulatorKind(lambda: None, _max, lambda acc: acc, _optional_number),
    "avg": AccumulatorKind(lambda: [0, 0], _avg, _mean,
                           lambda acc: (type(acc) is list and len(acc) == 2 and is_number(acc[0])
                                        and type(acc[1]) is int and acc[1] >= 0)),
}
