"""The one numeric rule of the steps: how ints, floats and Decimals compare and compute.

A record's numbers come in three Python types (etlkit.http's exact reader): ``int`` (any size),
``float`` (a number a double holds as written) and ``Decimal`` (one it does not: a 30-digit
decimal, ``1e400``). They are one kind, *number*, and a number is the value its JSON text
writes. For a float that text is its shortest form, ``repr()`` (what json_bytes writes, and what
the reader checked it against): ``0.1`` is one tenth, not the double nearest to it.

* Comparison and equality are exact on those values, whatever the types: ``1 == 1.0 ==
  Decimal("1.00")``, ``Decimal("0.1000000000000000000001") > 0.1``. No number is ever rounded to
  a double to be compared (that would lose the digits a Decimal exists to keep), and a float is
  never taken at its binary expansion (``0.1`` would then exceed ``Decimal("0.1")``).
* Arithmetic on ints and floats alone is Python's: ints exact, a float in it makes a double.
* Arithmetic with a Decimal is exact decimal arithmetic on those values: ``+ - * %`` give the
  exact result, or an error past :data:`MAX_DIGITS` significant digits (or an exponent past
  :data:`MAX_EXPONENT`); ``/`` gives the exact quotient when it has at most
  :func:`quotient_digits` significant digits (34, decimal128's, or the operands' own digits
  together when more), else the quotient rounded half-even to that many. The result is a Decimal.
* ``%`` takes the sign of the divisor for every type (Python's floor rule; Decimal's own ``%``
  takes the dividend's).

Python's own operators on a Decimal are not used: they round to the thread's context (28
digits by default), silently.
"""
from __future__ import annotations

import math
from decimal import (ROUND_HALF_EVEN, Context, Decimal, DivisionByZero, Inexact, InvalidOperation,
                     Overflow, Underflow)
from typing import Any

from .failures import RecordError

NUMBER_TYPES = frozenset({int, float, Decimal})  # bool is not a number: type(True) is bool

# Past these a result is refused: one record must not cost unbounded time or memory.
MAX_INT_BITS = 1024
MAX_DIGITS = 400  # significant digits of a Decimal result (a double's range is ~309 digits)
MAX_EXPONENT = 100_000  # |adjusted exponent| of a Decimal result
# Decimal128's precision: the quotient's digits when the operands have fewer together.
QUOTIENT_DIGITS = 34
# |x| below this: a float and an int compare the same by binary value as by written value (no
# integer lies between a float under 2**53 and its shortest text), so Python's own comparison
# is exact and cheap.
_FLOAT_EXACT_BELOW = 2.0 ** 53

# Integers under 10**MAX_DIGITS are their own set key (see number_key); 10**400 has 1329 bits.
_KEY_INT_BOUND = 10 ** MAX_DIGITS
_KEY_INT_BITS = _KEY_INT_BOUND.bit_length() - 1

_EXACT = Context(prec=MAX_DIGITS, rounding=ROUND_HALF_EVEN, Emax=MAX_EXPONENT, Emin=-MAX_EXPONENT,
                 traps=[InvalidOperation, DivisionByZero, Overflow, Underflow, Inexact])


class NumberError(RecordError):
    """A computation on numbers has no representable result (division by zero, too large)."""


def is_number(value: Any) -> bool:
    """True for int, float and a finite Decimal; false for bool."""
    kind = type(value)
    return kind is int or kind is float or (kind is Decimal and value.is_finite())


def exact(value: int | float | Decimal) -> int | Decimal:
    """``value`` as an int or a Decimal of the same value under the rule above."""
    return Decimal(repr(value)) if type(value) is float else value


def comparable(a: Any, b: Any) -> tuple[Any, Any]:
    """Two numbers as a pair that Python's operators compare exactly under the rule above.

    Same types, or an int and a float one of which is under 2**53, compare as they are; else a
    float becomes the Decimal of its shortest text (an int and a Decimal compare exactly)."""
    ta, tb = type(a), type(b)
    if ta is tb:
        return a, b
    if ta is float:
        if tb is not int or not (-_FLOAT_EXACT_BELOW < a < _FLOAT_EXACT_BELOW
                                 or -_FLOAT_EXACT_BELOW < b < _FLOAT_EXACT_BELOW):
            a = Decimal(repr(a))
    elif tb is float:
        if ta is not int or not (-_FLOAT_EXACT_BELOW < a < _FLOAT_EXACT_BELOW
                                 or -_FLOAT_EXACT_BELOW < b < _FLOAT_EXACT_BELOW):
            b = Decimal(repr(b))
    return a, b


def equal(a: Any, b: Any) -> bool:
    """Whether two numbers are the same number (see the module docstring)."""
    x, y = comparable(a, b)
    return x == y


def number_key(value: int | float | Decimal) -> Any:
    """A set key for a number: equal keys exactly for :func:`equal` numbers, of any types.

    The key of the plainest type that holds the value: an int when integral (under
    10**MAX_DIGITS), else a float when one writes it, else the Decimal itself, tagged so that no
    float equal to its binary expansion matches it."""
    kind = type(value)
    if kind is int:
        if value.bit_length() < _KEY_INT_BITS or -_KEY_INT_BOUND < value < _KEY_INT_BOUND:
            return value
        return ("decimal", Decimal(value))
    if kind is float:
        if -_FLOAT_EXACT_BELOW < value < _FLOAT_EXACT_BELOW or not math.isfinite(value):
            return value  # equal to an int exactly when integral: Python's == and hash agree
        return int(Decimal(repr(value)))  # integral, and its written value, not its binary one
    if value.is_finite():
        if value == value.to_integral_value():
            if value.adjusted() < MAX_DIGITS:  # under 10**MAX_DIGITS, as an int key
                return int(value)
        else:
            near = float(value)
            if math.isfinite(near) and Decimal(repr(near)) == value:
                return near
    return ("decimal", value)  # Decimal's == and hash ignore trailing zeros: 1.50 is 1.5


def negate(value: int | float | Decimal) -> int | float | Decimal:
    """``-value``, exactly (a Decimal's ``-`` would round it to the context's 28 digits)."""
    return value.copy_negate() if type(value) is Decimal else -value


def absolute(value: int | float | Decimal) -> int | float | Decimal:
    """``abs(value)``, exactly."""
    return value.copy_abs() if type(value) is Decimal else abs(value)


def arithmetic(op: str, a: int | float | Decimal, b: int | float | Decimal) -> Any:
    """``a op b`` for ``op`` in ``+ - * / %`` under the rule above; :class:`NumberError` names
    why when there is no result (division by zero, a result too large or not finite)."""
    ta, tb = type(a), type(b)
    if ta is Decimal or tb is Decimal:
        return _decimal_arithmetic(op, exact(a), exact(b))
    try:
        if op == "+":
            result = a + b
        elif op == "-":
            result = a - b
        elif op == "*":
            result = a * b
        elif b == 0:
            raise NumberError("division by zero")
        elif op == "/":
            result = a / b
        else:
            result = a % b
    except OverflowError:
        raise NumberError("result out of range") from None
    if type(result) is float:
        if not math.isfinite(result):
            raise NumberError("result is not a finite number")
    elif result.bit_length() > MAX_INT_BITS:
        raise NumberError(f"integer result larger than {MAX_INT_BITS} bits")
    return result


def add(a: int | float | Decimal, b: int | float | Decimal) -> int | float | Decimal:
    """``a + b``: Python's for ints and floats (the caller bounds the result), exact with a
    Decimal. For a running sum, where :func:`arithmetic`'s checks would cost per record."""
    if type(a) is Decimal or type(b) is Decimal:
        return _decimal_arithmetic("+", exact(a), exact(b))
    return a + b


def less(a: int | float | Decimal, b: int | float | Decimal) -> bool:
    """``a < b`` under the rule above."""
    if type(a) is type(b):
        return a < b
    x, y = comparable(a, b)
    return x < y


def divide(a: int | float | Decimal, b: int | float | Decimal) -> int | float | Decimal:
    """``a / b`` under the rule above (Python's true division for ints and floats); the caller
    makes sure ``b`` is not zero."""
    if type(a) is Decimal or type(b) is Decimal:
        return _decimal_arithmetic("/", exact(a), exact(b))
    return a / b


def quotient_digits(a: Decimal | int, b: Decimal | int) -> int:
    """The significant digits of ``a / b`` with a Decimal in it (see the module docstring)."""
    return min(MAX_DIGITS, max(QUOTIENT_DIGITS, _digits(a) + _digits(b)))


def _digits(value: Decimal | int) -> int:
    if type(value) is int:
        return len(str(abs(value))) if value.bit_length() <= MAX_INT_BITS else MAX_DIGITS
    return len(value.as_tuple().digits)


def _decimal_arithmetic(op: str, a: Decimal | int, b: Decimal | int) -> Decimal:
    if type(a) is int and a.bit_length() > MAX_INT_BITS or type(b) is int and b.bit_length() > MAX_INT_BITS:
        raise NumberError(f"integer operand larger than {MAX_INT_BITS} bits")
    try:
        if op == "+":
            result = _EXACT.add(a, b)
        elif op == "-":
            result = _EXACT.subtract(a, b)
        elif op == "*":
            result = _EXACT.multiply(a, b)
        elif b == 0:
            raise NumberError("division by zero")
        elif op == "/":
            context = _EXACT.copy()
            context.prec = quotient_digits(a, b)
            context.traps[Inexact] = False  # rounded to those digits, by definition
            result = context.divide(a, b)
        else:
            result = _EXACT.remainder(a, b)  # the dividend's sign; the floor rule wants b's
            if result and (result < 0) != (b < 0):
                result = _EXACT.add(result, b)
    except (Overflow, Underflow, InvalidOperation):  # (Overflow and Underflow are Inexact too)
        raise NumberError("result out of range") from None
    except Inexact:
        raise NumberError(f"result needs more than {MAX_DIGITS} significant digits") from None
    if result.adjusted() < -MAX_EXPONENT:
        raise NumberError("result out of range")
    return result
