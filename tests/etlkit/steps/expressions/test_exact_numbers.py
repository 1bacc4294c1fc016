"""The expression language on exact numbers: a Decimal (a number a double cannot hold, read by
etlkit.http) and a long literal compared, computed and passed to functions with every digit, by
the one rule of etlkit/steps/numbers.py, in the specialised closures and in the general ones
(``specialise=False``, their oracle) alike."""
from decimal import Decimal

import pytest

from etlkit.http import parse_json_body
from etlkit.outrecord import json_bytes
from etlkit.steps.expressions import EvalError, compile_expression, parse
from etlkit.steps.expressions.compiler import compile_tree

LONG = "123456789012345678901234567890.123"
RECORD = parse_json_body(('{"d": ' + LONG + ', "tenth": 0.1, "n": 7, "big": 100000000000000000000000,'
                          ' "f": 1e23, "s": "' + LONG + '", "ds": [' + LONG + ', 2.5]}').encode())


def both(text):
    """The value of ``text`` on RECORD by the specialised and by the general closures."""
    tree = parse(text)
    values = [compile_tree(tree, text, specialise=flag)(RECORD, None) for flag in (True, False)]
    assert values[0] == values[1] and type(values[0]) is type(values[1]), text
    return values[0]


def test_the_record_holds_a_decimal():
    assert type(RECORD["d"]) is Decimal and type(RECORD["tenth"]) is float


@pytest.mark.parametrize("text, expected", [
    pytest.param("d > 1", True, id="decimal-above-an-int"),
    pytest.param(f"d == {LONG}", True, id="equal-to-its-literal"),
    pytest.param(f"d != {LONG}", False, id="not-different-from-its-literal"),
    pytest.param(f"d >= {LONG}", True, id="at-least-its-literal"),
    pytest.param(f"d < {LONG}000", False, id="trailing-zeros-are-the-same-number"),
    pytest.param(f"d < {LONG}0002", True, id="a-digit-past-the-28-digit-context"),
    pytest.param("d == 123456789012345678901234567890.12", False, id="no-rounding-to-a-shorter-literal"),
    pytest.param("d < 1.2345678901234568e29", True, id="below-the-nearest-double-s-text"),
    pytest.param("tenth == 0.1000000000000000000000", True, id="a-float-is-its-text"),
    pytest.param("tenth < 0.1000000000000000000001", True, id="a-float-below-a-long-literal"),
    pytest.param("big == f", True, id="int-10-23-equals-float-1e23-as-written"),
    pytest.param("d in ds", True, id="membership-in-a-record-list"),
    pytest.param(f"d in [1, {LONG}]", True, id="membership-in-a-literal-list"),
    pytest.param("d in [123456789012345678901234567890.0]", False, id="not-the-double-in-a-list"),
    pytest.param("-d < 0", True, id="negated"),
    pytest.param("d > s", EvalError, id="a-number-is-no-text"),
])
def test_comparisons_are_exact(text, expected):
    if expected is EvalError:
        with pytest.raises(EvalError, match="cannot compare number with string"):
            both(text)
    else:
        assert both(text) is expected


@pytest.mark.parametrize("text, written", [
    pytest.param("d + 1", b"123456789012345678901234567891.123", id="plus-an-int"),
    pytest.param("d - tenth", b"123456789012345678901234567890.023", id="minus-a-float-as-its-text"),
    pytest.param("d * n", b"864197523086419752308641975230.861", id="times"),
    pytest.param("d / 1", LONG.encode(), id="divided-keeps-its-digits"),
    pytest.param("d % 10", b"0.123", id="modulo"),
    pytest.param("-d", b"-" + LONG.encode(), id="negated"),
    pytest.param(f"{LONG} + 0", LONG.encode(), id="a-long-literal-is-exact"),
    pytest.param("1e400 * 1", b"1E+400", id="a-literal-past-the-float-range"),
    pytest.param("abs(-d)", LONG.encode(), id="abs"),
    pytest.param("floor(d)", b"123456789012345678901234567890", id="floor-an-int"),
    pytest.param("ceil(-d)", b"-123456789012345678901234567890", id="ceil-negative"),
    pytest.param("round(d, 2)", b"123456789012345678901234567890.12", id="round-keeps-a-decimal"),
    pytest.param("round(d)", b"123456789012345678901234567890", id="round-to-an-int"),
    pytest.param("number(s)", LONG.encode(), id="number-reads-text-exactly"),
    pytest.param("number('0.5')", b"0.5", id="number-short-text-a-float"),
    pytest.param("string(d)", b'"' + LONG.encode() + b'"', id="string-its-digits"),
    pytest.param("coalesce(null, d)", LONG.encode(), id="coalesce-passes-it-on"),
    pytest.param("[d]", b"[" + LONG.encode() + b"]", id="in-a-list"),
])
def test_computations_keep_every_digit(text, written):
    assert json_bytes(both(text)) == written


@pytest.mark.parametrize("text, reason", [
    pytest.param("d / 0", "division by zero", id="division-by-zero"),
    pytest.param("1e99999 * 1e99999", "out of range", id="exponent-out-of-range"),
    pytest.param("1e500 + d", "significant digits", id="too-many-digits"),
    pytest.param("floor(1e500)", "more than 400 digits", id="floor-past-the-digits"),
])
def test_a_computation_without_a_result_is_a_named_error(text, reason):
    with pytest.raises(EvalError, match=reason):
        compile_expression(text).evaluate(RECORD)


def test_a_decimal_literal_is_folded_with_its_sign():
    assert parse(f"-{LONG}").value == Decimal("-" + LONG)
