"""Window accumulators (etlkit/steps/accumulators.py) on exact numbers: a Decimal (a number a
double cannot hold, as etlkit.http reads it) summed, compared and averaged with every digit, alone
and beside ints and floats, and the result written with its digits by json_bytes."""
from decimal import Decimal

import pytest

from etlkit.outrecord import json_bytes
from etlkit.steps.accumulators import KINDS
from etlkit.steps.failures import RecordError

LONG = Decimal("123456789012345678901234567890.123")


def fold(op, values):
    kind = KINDS[op]
    acc = kind.initial()
    for value in values:
        acc = kind.add(acc, value)
    assert kind.valid(acc)
    return kind.result(acc)


@pytest.mark.parametrize("op, values, written", [
    pytest.param("sum", [LONG, LONG], b"246913578024691357802469135780.246", id="sum-two-decimals"),
    pytest.param("sum", [LONG, 1, 2], b"123456789012345678901234567893.123", id="sum-decimal-then-ints"),
    pytest.param("sum", [1, 2, LONG], b"123456789012345678901234567893.123", id="sum-ints-then-decimal"),
    pytest.param("sum", [LONG, 0.5, 0.25], b"123456789012345678901234567890.873", id="sum-floats-as-their-text"),
    pytest.param("sum", [LONG, LONG.copy_negate()], b"0.000", id="sum-cancelling-exactly"),
    pytest.param("sum", [2**64, 2**64], b"36893488147419103232", id="sum-ints-stays-exact-int"),
    pytest.param("min", [1e30, LONG, 2**100], b"123456789012345678901234567890.123", id="min-mixed"),
    pytest.param("max", [LONG, 123456789012345678901234567890.0], b"1.2345678901234568e+29",
                 id="max-the-double-s-text-is-larger"),
    pytest.param("max", [LONG, Decimal("123456789012345678901234567890.1231")],
                 b"123456789012345678901234567890.1231", id="max-one-digit-further"),
    pytest.param("avg", [LONG, LONG, LONG], b"123456789012345678901234567890.123", id="avg-of-equal-decimals"),
    pytest.param("avg", [Decimal("1.00000000000000000001"), 2], b"1.500000000000000000005", id="avg-mixed"),
    pytest.param("avg", [1, 2], b"1.5", id="avg-of-ints-a-double-as-before"),
])
def test_an_accumulator_keeps_every_digit(op, values, written):
    assert json_bytes(fold(op, values)) == written


def test_min_and_max_keep_the_winner_as_it_came():
    assert type(fold("min", [LONG, 1.5])) is float and type(fold("max", [LONG, 1.5])) is Decimal
    assert fold("min", [1, 1.0]) == 1 and type(fold("min", [1, 1.0])) is int  # a tie keeps the first


def test_a_sum_past_the_digits_of_the_rule_is_a_record_error():
    with pytest.raises(RecordError, match="significant digits"):
        fold("sum", [Decimal("1E+500"), Decimal("1E-500")])


def test_a_persisted_decimal_accumulator_is_valid():
    assert KINDS["sum"].valid(LONG) and KINDS["avg"].valid([LONG, 3])
    assert not KINDS["sum"].valid(Decimal("NaN")) and not KINDS["sum"].valid(True)
