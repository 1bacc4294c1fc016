"""The steps' one numeric rule (etlkit/steps/numbers.py): ints, floats and Decimals compared and
computed exactly, a float counted as its shortest text. Checked by hand on the edge cases and
against an independent oracle, Python's Fraction of each number's JSON text, on seeded mixes."""
import random
from decimal import Decimal
from fractions import Fraction

import pytest

from etlkit.outrecord import json_bytes
from etlkit.steps.numbers import (MAX_DIGITS, NumberError, absolute, add, arithmetic, comparable,
                                  divide, equal, less, negate, number_key, quotient_digits)

LONG = Decimal("123456789012345678901234567890.123")


def written(value) -> Fraction:
    """The oracle: the number the value's JSON text writes."""
    return Fraction(repr(value)) if type(value) is float else Fraction(value)


@pytest.mark.parametrize("a, b, expected", [
    pytest.param(Decimal("0.1000000000000000000001"), 0.1, 1, id="decimal-above-the-float-0.1"),
    pytest.param(Decimal("0.1"), 0.1, 0, id="float-0.1-is-one-tenth-not-its-binary-value"),
    pytest.param(Decimal(0.1), 0.1, 1, id="the-binary-expansion-is-above-one-tenth"),
    pytest.param(10**23, 1e23, 0, id="big-float-is-its-text-1e23"),
    pytest.param(2**53 + 1, 9007199254740992.0, 1, id="int-past-2-53-beside-the-float"),
    # The nearest double writes 1.2345678901234568e+29: above the 30 digits, not equal to them.
    pytest.param(LONG, 123456789012345678901234567890.0, -1, id="30-digits-against-the-nearest-double"),
    pytest.param(Decimal("1E+400"), 1.7976931348623157e308, 1, id="past-the-float-range"),
    pytest.param(Decimal("-0"), 0.0, 0, id="negative-zero"),
    pytest.param(1, Decimal("1.000"), 0, id="trailing-zeros"),
])
def test_comparison_is_exact_on_the_written_value(a, b, expected):
    x, y = comparable(a, b)
    assert (x > y) - (x < y) == expected
    assert equal(a, b) is (expected == 0) and equal(b, a) is (expected == 0)
    assert (number_key(a) == number_key(b)) is (expected == 0)
    assert less(a, b) is (expected < 0) and less(b, a) is (expected > 0)


def _number(rng: random.Random):
    kind = rng.randrange(6)
    if kind == 0:
        return rng.randrange(-10**6, 10**6)
    if kind == 1:
        return rng.choice([2**53, 2**53 + 1, 10**23, -(10**22), 2**60 + rng.randrange(1000)])
    if kind == 2:
        return float(rng.choice([0.1, 0.5, 1e23, 2.0**53, 1e16, -2.5])) * rng.choice([1, 1, 3])
    if kind == 3:
        return round(rng.uniform(-1000, 1000), rng.randrange(0, 6))
    if kind == 4:
        digits = "".join(rng.choice("0123456789") for _ in range(rng.randrange(16, 40)))
        return Decimal(f"{rng.choice('-+')}{digits[:rng.randrange(1, 20)]}.{digits}")
    # a Decimal equal to a float's text, or to an int: keys must meet across the types
    return Decimal(repr(rng.choice([0.1, 2.5, 1e23, 3.0]))) if rng.random() < .5 else Decimal(rng.randrange(100))


def test_comparison_equality_and_keys_agree_with_the_oracle():
    rng = random.Random(15)
    numbers = [_number(rng) for _ in range(300)]
    for a, b in zip(numbers, numbers[1:] + numbers[:1]):
        x, y = comparable(a, b)
        assert (x < y, x == y) == (written(a) < written(b), written(a) == written(b)), (a, b)
        assert (number_key(a) == number_key(b)) is (written(a) == written(b)), (a, b)
        if written(a) == written(b):
            assert hash(number_key(a)) == hash(number_key(b))


def test_decimal_arithmetic_is_exact_against_the_oracle():
    rng = random.Random(16)
    for _ in range(300):
        a, b = _number(rng), Decimal(_number(rng)) if rng.random() < .5 else _number(rng)
        if type(a) is not Decimal and type(b) is not Decimal:
            b = Decimal(str(b))
        for op, exact in (("+", lambda p, q: p + q), ("-", lambda p, q: p - q), ("*", lambda p, q: p * q)):
            assert written(arithmetic(op, a, b)) == exact(written(a), written(b)), (a, op, b)
        if written(b):
            remainder = arithmetic("%", a, b)
            assert written(remainder) == written(a) - written(b) * (written(a) // written(b)), (a, b)
            quotient = arithmetic("/", a, b)
            assert type(quotient) is Decimal and len(quotient.as_tuple().digits) <= quotient_digits(
                Decimal(repr(a)) if type(a) is float else a, Decimal(repr(b)) if type(b) is float else b)
            error = abs(written(quotient) - written(a) / written(b))
            assert error <= abs(written(a) / written(b)) / 10 ** (QUOTIENT_MIN - 1), (a, b)


QUOTIENT_MIN = 34


@pytest.mark.parametrize("op, a, b, expected", [
    pytest.param("+", LONG, 1, "123456789012345678901234567891.123", id="past-the-28-digit-context"),
    pytest.param("-", LONG, 0.123, "123456789012345678901234567890.000", id="float-as-its-text"),
    pytest.param("*", LONG, 2, "246913578024691357802469135780.246", id="doubled"),
    pytest.param("/", LONG, 1, "123456789012345678901234567890.123", id="divided-by-one-keeps-every-digit"),
    pytest.param("/", Decimal(1), 3, "0.3333333333333333333333333333333333", id="third-to-34-digits"),
    pytest.param("%", Decimal("-7.5"), 2, "0.5", id="modulo-takes-the-divisor-s-sign"),
    pytest.param("%", Decimal("7.5"), -2, "-0.5", id="modulo-negative-divisor"),
])
def test_decimal_arithmetic_by_hand(op, a, b, expected):
    result = arithmetic(op, a, b)
    assert type(result) is Decimal and str(result) == expected


@pytest.mark.parametrize("op, a, b, reason", [
    pytest.param("/", LONG, 0, "division by zero", id="division-by-zero"),
    pytest.param("%", LONG, Decimal(0), "division by zero", id="modulo-by-zero"),
    pytest.param("+", Decimal("1E+1000"), Decimal("1E-1000"), f"more than {MAX_DIGITS} significant",
                 id="sum-needing-2001-digits"),
    pytest.param("*", Decimal("1E+99999"), Decimal("1E+99999"), "out of range", id="exponent-overflow"),
    pytest.param("*", Decimal("1E-99999"), Decimal("1E-99999"), "out of range", id="exponent-underflow"),
    pytest.param("+", Decimal(1), 2**2000, "larger than 1024 bits", id="huge-int-operand"),
    pytest.param("*", 2**600, 2**600, "larger than 1024 bits", id="int-result-too-large"),
    pytest.param("*", 1e300, 1e300, "not a finite number", id="float-overflow"),
])
def test_arithmetic_refuses_what_has_no_result(op, a, b, reason):
    with pytest.raises(NumberError, match=reason):
        arithmetic(op, a, b)


def test_ints_and_floats_compute_as_python_does():
    assert arithmetic("/", 7, 2) == 3.5 and arithmetic("%", -7, 3) == 2
    assert type(arithmetic("+", 2**60, 1)) is int and arithmetic("+", 0.1, 0.2) == 0.1 + 0.2
    assert add(0.1, 0.2) == 0.1 + 0.2 and divide(7, 2) == 3.5


def test_sign_changes_keep_every_digit():
    # Python's -d and abs(d) round a Decimal to the context's 28 digits.
    assert str(negate(LONG)) == "-" + str(LONG) and str(absolute(negate(LONG))) == str(LONG)
    assert json_bytes([negate(LONG)]) == b"[-123456789012345678901234567890.123]"
