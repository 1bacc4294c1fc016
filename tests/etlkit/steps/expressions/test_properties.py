"""Property tests: hostile text only ever raises ParseError; hostile records only ever EvalError."""
import json

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from etlkit.steps import Record
from etlkit.steps.expressions import (MAX_LENGTH, EvalError, ParseError, compile_condition,
                                      compile_expression, parse)
from etlkit.steps.expressions.compiler import compile_tree

# Pieces of the language, so random text reaches deep into the parser rather than failing at
# the first character.
_PIECES = ["a", "b.c", "items[0]", "x[-1]", "`q q`", "$key", "$headers['h']", "1", "-2.5", "1e3",
           "'s'", '"t\\n"', "true", "false", "null", "==", "!=", "<", "<=", ">", ">=", "+", "-",
           "*", "/", "%", "and", "or", "not", "in", "not in", "is null", "is not null", "(",
           ")", "[", "]", ",", ".", "lower(", "round(", "coalesce(", "concat(", "length(",
           "number(", " ", "=", "!", "&", "\\", "'", '"', "`", "$", "1.", "0x1", "\u00e9", "\x00"]
_token_soup = st.lists(st.sampled_from(_PIECES), max_size=40).map(" ".join)


def _check_parse(text):
    try:
        parse(text)
    except ParseError as exc:
        assert 0 <= exc.position <= max(len(text), MAX_LENGTH)
        assert exc.expected and exc.found


@settings(max_examples=500, deadline=None)
@given(st.text(max_size=200))
def test_arbitrary_text_only_raises_parse_error(text):
    _check_parse(text)


@settings(max_examples=1000, deadline=None)
@given(_token_soup)
def test_token_soup_only_raises_parse_error(text):
    _check_parse(text)


@settings(max_examples=50, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.sampled_from(_PIECES), st.integers(100, 2000))
def test_long_repetitions_are_bounded(piece, times):
    # Repetitions of one piece are the classic way to blow a recursive parser's stack.
    _check_parse((piece + " ") * times)


_json = st.recursive(
    st.one_of(st.none(), st.booleans(), st.integers(), st.floats(), st.text(max_size=8)),
    lambda children: st.one_of(st.lists(children, max_size=4),
                               st.dictionaries(st.sampled_from(["a", "b", "c", "items", "x", "q q"]),
                                               children, max_size=4)),
    max_leaves=20)
_records = st.dictionaries(st.sampled_from(["a", "b", "c", "items", "x", "q q"]), _json, max_size=6)

_EXPRESSIONS = [
    "a", "a > b", "a == b", "a != 1", "b.c <= 'x'", "items[0] in a", "a in [1, 'x', null, true]",
    "not a", "a and b or c", "a + b * c - 1", "a / b", "a % b", "-a", "x[-1] is null",
    "`q q` is not null", "lower(a)", "upper(b.c)", "trim(a)", "length(a)", "round(a, b)",
    "abs(a)", "floor(a)", "ceil(a)", "coalesce(a, b, c)", "concat(a, b)", "string(a)",
    "number(a)", "starts_with(a, b)", "ends_with(a, 'x')", "contains(a, b)", "[a, b] == [b, a]",
    "a == [1, [2, 3]]", "'k' in a", "$headers['h'] == a", "$key + a",
]


@settings(max_examples=300, deadline=None)
@given(st.sampled_from(_EXPRESSIONS), _records)
def test_arbitrary_records_only_raise_eval_error(text, value):
    record = Record(value=value, key="k", headers={"h": "v"})
    expression, condition = compile_expression(text), compile_condition(text)
    try:
        result = expression.evaluate(value, record)
    except EvalError as exc:
        assert exc.reason
    else:
        # Whatever an expression produces must be writable as a JSON record field.
        json.dumps(result, allow_nan=True)
    try:
        assert condition.test(value, record) in (True, False)
    except EvalError as exc:
        assert exc.reason


# Shapes the compiler specialises (one-argument calls, comparisons with a literal, membership
# in a list of strings), next to near misses that take the general closures.
_SPECIALISED = [
    "number(a) > 0", "a < 2.5", "a >= -1", "a <= 'm'", "b.c > 'x'", "lower(a) > 'b'", "abs(a) <= 3",
    "a in ['x', 'y']", "a not in ['x', '']", "a in ['x', 1]", "a in [1, 2]", "length(a) < 2",
    "a > true", "a < null", "a > [1]", "concat(a) > 'a'", "a in []", "string(a) in ['1', 'true']",
]


# Values that meet the literals above, so both sides of every comparison are reached.
_NEAR_LITERALS = ["x", "y", "", "a", "b", "m", "1", "true", 0, 1, 2, 2.5, -1, 3.5, True, None, [1],
                  {"c": "z"}]


def _outcome(fn, value, record):
    try:
        return "ok", json.dumps(fn(value, record))
    except EvalError as exc:
        return "error", exc.reason


def _both(text):
    tree = parse(text)
    return compile_tree(tree, text), compile_tree(tree, text, specialise=False)


@pytest.mark.parametrize("text", _SPECIALISED)
def test_specialised_closures_agree_on_every_near_literal(text):
    specialised, general = _both(text)
    for a in [*_NEAR_LITERALS, "absent"]:
        for b in [*_NEAR_LITERALS, "absent"]:
            value = {name: v for name, v in (("a", a), ("b", b)) if v != "absent"}
            record = Record(value=value, key="k")
            assert _outcome(specialised, value, record) == _outcome(general, value, record), value


@settings(max_examples=300, deadline=None)
@given(st.sampled_from(_EXPRESSIONS + _SPECIALISED), _records)
def test_specialised_closures_agree_with_the_general_ones(text, value):
    record = Record(value=value, key="k", headers={"h": "v"})
    specialised, general = _both(text)
    assert _outcome(specialised, value, record) == _outcome(general, value, record)


@settings(max_examples=500, deadline=None)
@given(st.one_of(st.floats(-1e6, 1e6), st.integers(-10**6, 10**6).map(lambda n: n / 1000),
                 st.integers(-10**5, 10**5).map(lambda n: n / 100 + 0.005)),
       st.integers(0, 6))
def test_round_fast_path_matches_decimal_half_up(x, digits):
    # round() takes a fast path off ties; Decimal on the number as written is the definition.
    from decimal import ROUND_HALF_UP, Decimal

    expected = Decimal(repr(x)).quantize(Decimal(1).scaleb(-digits), rounding=ROUND_HALF_UP)
    result = compile_expression("round(x, d)").evaluate({"x": x, "d": digits})
    assert result == (int(expected) if digits == 0 else float(expected))
    assert type(result) is (int if digits == 0 else float)
