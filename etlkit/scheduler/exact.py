"""Exact numbers for the matchers: every amount (or cost) as an integer count of one unit.

A finite float is an integer times a power of two, a Decimal an integer times a power of ten,
an ``int`` already an integer; so any list of them is exactly ``ints * unit`` for one rational
``unit`` (1 when every value is an integer, the usual case). The solvers then add, subtract and
compare integers only: no flow is too small to count beside a large one, no two costs are too
close to tell apart, and no tolerance has to guess how much rounding a sum has collected.
Results go back to numbers once, at the end (:func:`from_units`): an integer stays an ``int``
(of any size, so JSON carries it beyond 2**53), anything else becomes the nearest float.

Integer arrays are ``int64`` while every value, and every sum a solver forms of them, fits;
past that they are ``object`` arrays of Python ints: slower, never wrong.
"""
from __future__ import annotations

import math
from collections.abc import Sequence
from decimal import Decimal
from fractions import Fraction
from numbers import Rational

import numpy as np

__all__ = ["is_number", "number_array", "to_units", "from_units", "exact_sum", "exact_dot",
           "ONE"]

ONE = Fraction(1)
# Values up to 2**52 in int64 leave room for the sums and differences the solvers form (a path
# length of up to 2**10 terms, a capacity minus a flow) without reaching 2**63.
_INT64_ROOM = 2**52
_FLOAT_BITS = 53


def is_number(value: object) -> bool:
    """A finite real number the matchers can take exactly (not a bool, NaN or infinity)."""
    kind = type(value)
    if kind is int:  # the common cases first: this runs once per service
        return True
    if kind is float:
        return math.isfinite(value)
    if isinstance(value, bool) or isinstance(value, np.bool_):
        return False
    if isinstance(value, (int, np.integer, Rational)):
        return True
    if isinstance(value, (float, np.floating)):
        return math.isfinite(value)
    if isinstance(value, Decimal):
        return value.is_finite()
    return False


def number_array(values: object) -> np.ndarray:
    """``values`` as an array that holds every number exactly.

    An ndarray of integers or floats is kept as it is. A list goes through ``object`` unless
    it holds only ints or only floats: numpy would turn ``[2**53 + 1, 0.5]`` into floats and
    round the integer. Raises TypeError or ValueError on what is not numbers.
    """
    if isinstance(values, np.ndarray) and values.dtype.kind in "iuf":
        return values
    array = np.asarray(values, dtype=object)
    flat = array.ravel()
    kinds = {type(x) for x in flat}
    if kinds <= {int, np.int64} and all(abs(x) < 2**63 for x in flat):
        return array.astype(np.int64)
    if kinds <= {float, np.float64}:
        return array.astype(np.float64)
    if any(not (is_number(x) or _is_special_float(x)) for x in flat):
        raise TypeError("not a number")
    return array


def _is_special_float(value: object) -> bool:
    # inf marks an uncapped link and NaN a cost nobody reads; validation decides where they fit.
    return isinstance(value, (float, np.floating)) and not math.isfinite(value)


def fits_int64(array: np.ndarray, room: int = _INT64_ROOM) -> bool:
    """Whether every value of an integer array is within ``room`` of zero."""
    if array.size == 0:
        return True
    return max(abs(int(array.max())), abs(int(array.min()))) <= room


def _as_int_array(ints: np.ndarray) -> np.ndarray:
    """int64 when every value leaves room for a solver's sums, else Python ints."""
    if ints.dtype == object:
        return ints.astype(np.int64) if fits_int64(ints) else ints
    return ints if fits_int64(ints) else ints.astype(object)


def _float_units(values: np.ndarray) -> tuple[np.ndarray, Fraction]:
    """Floats as integers of a power-of-two unit, vectorised (``frexp`` splits each float)."""
    if values.size == 0 or bool((np.floor(values) == values).all()):
        if values.size and float(np.abs(values).max()) >= 2.0**62:
            return np.array([int(x) for x in values.ravel()], dtype=object).reshape(
                values.shape), ONE
        return values.astype(np.int64), ONE
    mantissa, exponent = np.frexp(values)
    ints = (mantissa * 2.0**_FLOAT_BITS).astype(np.int64)  # exact: 53 bits
    exponent = exponent.astype(np.int64) - _FLOAT_BITS
    nonzero = ints != 0
    # Dropping trailing zero bits keeps the common unit as coarse as the values allow.
    lowest = np.where(nonzero, np.abs(ints) & -np.abs(ints), 1)
    zeros = np.log2(lowest.astype(np.float64)).astype(np.int64)  # exact: powers of two
    ints >>= zeros
    exponent += zeros
    low = int(exponent[nonzero].min())
    shift = np.where(nonzero, exponent - low, 0)
    if int(shift.max()) + _FLOAT_BITS <= 52:
        return ints << shift, Fraction(2) ** low
    out = np.array([int(i) << int(s) for i, s in zip(ints.ravel(), shift.ravel())],
                   dtype=object)
    return out.reshape(values.shape), Fraction(2) ** low


def _object_units(values: np.ndarray) -> tuple[np.ndarray, Fraction]:
    """Any exact numbers (ints past 64 bits, Decimals, Fractions) over their common denominator."""
    fractions = [Fraction(x) for x in values.ravel()]
    denominator = math.lcm(1, *(f.denominator for f in fractions))
    ints = np.array([f.numerator * (denominator // f.denominator) for f in fractions],
                    dtype=object).reshape(values.shape)
    return ints, Fraction(1, denominator)


def _units(values: np.ndarray) -> tuple[np.ndarray, Fraction]:
    if values.dtype.kind == "i":
        return values, ONE
    if values.dtype.kind == "u":  # uint64 past 2**63 would wrap in int64
        return values.astype(object), ONE
    if values.dtype.kind == "f":
        return _float_units(values)
    return _object_units(values)


def to_units(arrays: Sequence[np.ndarray]) -> tuple[list[np.ndarray], Fraction]:
    """Arrays of finite numbers as integer arrays of one common unit: ``value = int * unit``.

    >>> ints, unit = to_units([np.array([0.5, 1.25]), np.array([3])])
    >>> [a.tolist() for a in ints], unit
    ([[2, 5], [12]], Fraction(1, 4))
    """
    parts = [_units(np.asarray(a)) for a in arrays]
    denominator = math.lcm(1, *(unit.denominator for _, unit in parts))
    out = []
    for ints, unit in parts:
        factor = denominator // unit.denominator  # every unit is 1 / its denominator
        if factor != 1:
            ints = ints.astype(object) * factor
        out.append(_as_int_array(ints))
    return out, Fraction(1, denominator)


def from_units(count: int | np.integer, unit: Fraction) -> int | float:
    """``count * unit`` as an ``int`` when it is one (any size), else the nearest float."""
    if unit.denominator == 1:  # integer units, the usual case: no Fraction arithmetic
        return int(count) * unit.numerator
    value = int(count) * unit
    return value.numerator if value.denominator == 1 else float(value)


def _bound(array: np.ndarray) -> int:
    return max(abs(int(array.max())), abs(int(array.min()))) if array.size else 0


def exact_sum(array: np.ndarray) -> int:
    """The sum of an integer array as a Python int (an int64 sum could wrap)."""
    if array.dtype != object and _bound(array) * array.size < 2**63:
        return int(array.sum())
    return int(sum(int(x) for x in array.ravel()))


def exact_dot(a: np.ndarray, b: np.ndarray) -> int:
    """``sum(a * b)`` over integer arrays of one shape, as a Python int (never wraps)."""
    if a.dtype != object and b.dtype != object and _bound(a) * _bound(b) * a.size < 2**63:
        return int((a.astype(np.int64) * b.astype(np.int64)).sum())
    return int(sum(int(x) * int(y) for x, y in zip(a.ravel(), b.ravel())))
