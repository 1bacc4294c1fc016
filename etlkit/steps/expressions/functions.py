"""The closed set of functions an expression may call. Nothing else is reachable.

Every function is total over JSON values: a wrong argument type raises :class:`EvalError` (the
record is dead-lettered), and ``null`` arguments give ``null`` (SQL's rule), except in
``coalesce``, whose point is to replace them.
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from decimal import ROUND_CEILING, ROUND_FLOOR, ROUND_HALF_UP, Context, Decimal, InvalidOperation
from typing import Any, Callable

from ..casts import to_number, to_str
from ..numbers import MAX_DIGITS, absolute, is_number
from ..values import type_name
from .errors import EvalError

# round() keeps results in a range where Decimal quantize stays cheap and exact.
MAX_ROUND_DIGITS = 15
# Enough precision for any float (about 310 integer digits) plus the requested decimals, and
# for any Decimal result of an expression (..numbers.MAX_DIGITS); a longer one is refused.
_ROUNDING = Context(prec=MAX_DIGITS + MAX_ROUND_DIGITS, rounding=ROUND_HALF_UP)


@dataclass(frozen=True, slots=True)
class Function:
    """A callable with its arity bounds (``max_args`` None: any number)."""

    impl: Callable[..., Any]
    min_args: int
    max_args: int | None

    def arity_text(self) -> str:
        if self.max_args is None:
            return f"at least {self.min_args} argument(s)"
        if self.min_args == self.max_args:
            return f"{self.min_args} argument(s)"
        return f"{self.min_args} to {self.max_args} arguments"


def _string_arg(name: str, value: Any) -> str:
    if type(value) is not str:
        raise EvalError(f"{name}() expects a string, got {type_name(value)}")
    return value


def _number_arg(name: str, value: Any) -> int | float | Decimal:
    if not is_number(value):
        raise EvalError(f"{name}() expects a number, got {type_name(value)}")
    if type(value) is float and not math.isfinite(value):
        raise EvalError(f"{name}() expects a finite number")
    return value


def _lower(s: Any) -> Any:
    return None if s is None else _string_arg("lower", s).lower()


def _upper(s: Any) -> Any:
    return None if s is None else _string_arg("upper", s).upper()


def _trim(s: Any) -> Any:
    return None if s is None else _string_arg("trim", s).strip()


def _length(x: Any) -> Any:
    if x is None:
        return None
    if type(x) in (str, list, dict):
        return len(x)
    raise EvalError(f"length() expects a string, list or object, got {type_name(x)}")


def _round(x: Any, digits: Any = 0) -> Any:
    """Round half away from zero, on the number as written (``round(2.675, 2)`` is ``2.68``)."""
    if x is None or digits is None:
        return None
    _number_arg("round", x)
    if type(digits) is not int or abs(digits) > MAX_ROUND_DIGITS:
        raise EvalError(f"round() digits must be an integer within +-{MAX_ROUND_DIGITS}")
    if type(x) is int and digits >= 0:
        return x
    if type(x) is Decimal:  # exact already: rounded as it is, and kept a Decimal
        try:
            rounded = x.quantize(Decimal(1).scaleb(-digits), context=_ROUNDING)
        except InvalidOperation:
            raise EvalError(f"round() of a number of more than {MAX_DIGITS} digits") from None
        return int(rounded) if digits <= 0 else rounded
    # repr() is the shortest text that reads back as the same float: round what the user sees.
    text = repr(x)
    if digits >= 0 and not _is_tie(text, digits):
        # Off a tie, the float's exact value and its repr() round the same way (a boundary
        # between them would be a shorter or closer repr), so the fast builtin is exact here.
        return int(round(x)) if digits == 0 else round(x, digits)
    rounded = Decimal(text).quantize(Decimal(1).scaleb(-digits), context=_ROUNDING)
    return int(rounded) if digits <= 0 else float(rounded)


def _is_tie(text: str, digits: int) -> bool:
    """Whether decimal ``text`` ends exactly on a 5 one place past ``digits`` decimals (or is in
    exponent form, which the caller leaves to Decimal)."""
    if "e" in text or "n" in text:
        return True
    fraction = text.partition(".")[2]
    return len(fraction) == digits + 1 and fraction[-1] == "5"


def _abs(x: Any) -> Any:
    return None if x is None else absolute(_number_arg("abs", x))


def _floor(x: Any) -> Any:
    return None if x is None else _integral("floor", x, math.floor, ROUND_FLOOR)


def _ceil(x: Any) -> Any:
    return None if x is None else _integral("ceil", x, math.ceil, ROUND_CEILING)


def _integral(name: str, x: Any, of_float: Callable[[Any], int], rounding: str) -> int:
    value = _number_arg(name, x)
    if type(value) is not Decimal:
        return of_float(value)
    if value.adjusted() >= MAX_DIGITS:  # the int would cost time and memory past any use
        raise EvalError(f"{name}() of a number of more than {MAX_DIGITS} digits")
    return int(value.to_integral_value(rounding=rounding))


def _coalesce(*values: Any) -> Any:
    for value in values:
        if value is not None:
            return value
    return None


def _concat(*values: Any) -> Any:
    parts = []
    for value in values:
        if value is not None:  # as PostgreSQL's concat(): a null part is empty
            parts.append(_string_arg("concat", value))
    return "".join(parts)


def _string(x: Any) -> Any:
    return to_str(x)


def _number(x: Any) -> Any:
    if x is None or is_number(x):  # (a bool is no number)
        return x
    if type(x) is str:
        return to_number(x)  # exactly: a Decimal where a double cannot hold the text
    raise EvalError(f"number() expects a string or number, got {type_name(x)}")


def _starts_with(s: Any, prefix: Any) -> Any:
    if s is None or prefix is None:
        return None
    return _string_arg("starts_with", s).startswith(_string_arg("starts_with", prefix))


def _ends_with(s: Any, suffix: Any) -> Any:
    if s is None or suffix is None:
        return None
    return _string_arg("ends_with", s).endswith(_string_arg("ends_with", suffix))


def _contains(s: Any, part: Any) -> Any:
    if s is None or part is None:
        return None
    return _string_arg("contains", part) in _string_arg("contains", s)


FUNCTIONS: dict[str, Function] = {
    "lower": Function(_lower, 1, 1),
    "upper": Function(_upper, 1, 1),
    "trim": Function(_trim, 1, 1),
    "length": Function(_length, 1, 1),
    "round": Function(_round, 1, 2),
    "abs": Function(_abs, 1, 1),
    "floor": Function(_floor, 1, 1),
    "ceil": Function(_ceil, 1, 1),
    "coalesce": Function(_coalesce, 1, None),
    "concat": Function(_concat, 1, None),
    "string": Function(_string, 1, 1),
    "number": Function(_number, 1, 1),
    "starts_with": Function(_starts_with, 2, 2),
    "ends_with": Function(_ends_with, 2, 2),
    "contains": Function(_contains, 2, 2),
}
