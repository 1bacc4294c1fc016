"""The condition evaluators on generated expressions and hostile records: a bool or a named
error, never Python's own exceptions, never code run.

The steps' safe language (``etlkit.steps.expressions``). The Sensors' govaluate expressions
(``exprs``) are not emitted, so the local runner refuses them and has no evaluator to fuzz.
"""
import json

from hypothesis import given
from hypothesis import strategies as st

from etlkit.steps import Record
from etlkit.steps.expressions import EvalError, ParseError, compile_condition, compile_expression

from .budget import bounded, fuzz
from .strategies import HOSTILE, hostile_text, json_records, json_values

FIELDS = ["a", "b", "c.d", "items[0]", "x[-1]", "`q q`", "$key", "$headers['h']"]
FUNCTIONS = ["lower", "upper", "trim", "length", "round", "abs", "floor", "ceil", "coalesce",
             "concat", "string", "number", "starts_with", "ends_with", "contains"]


def _literal(value):
    if isinstance(value, str):
        return "'" + value.replace("\\", "\\\\").replace("'", "\\'") + "'"
    return json.dumps(value)


literals = st.one_of(st.integers(-10**6, 10**6), st.floats(allow_nan=False, allow_infinity=False),
                     st.booleans(), st.none(), hostile_text).map(_literal)
atoms = st.one_of(st.sampled_from(FIELDS), literals)
expressions = st.recursive(
    atoms,
    lambda inner: st.one_of(
        st.tuples(inner, st.sampled_from(["==", "!=", "<", "<=", ">", ">=", "+", "-", "*", "/",
                                          "%", "and", "or", "in", "not in"]), inner)
        .map(lambda t: f"({t[0]} {t[1]} {t[2]})"),
        inner.map(lambda e: f"not {e}"),
        inner.map(lambda e: f"-{e}"),
        inner.map(lambda e: f"{e} is null"),
        st.lists(inner, max_size=3).map(lambda xs: "[" + ", ".join(xs) + "]"),
        st.tuples(st.sampled_from(FUNCTIONS), st.lists(inner, min_size=1, max_size=3))
        .map(lambda t: f"{t[0]}({', '.join(t[1])})")),
    max_leaves=30)


def _condition_outcome(text, record):
    with bounded():
        try:
            condition = compile_condition(text)
        except ParseError as exc:
            assert exc.expected and exc.found
            return
        try:
            result = condition.test(record.value, record)
        except EvalError as exc:
            assert exc.reason
            return
    assert result in (True, False)


@fuzz(3)
@given(expressions, json_records)
def test_generated_conditions_on_hostile_records(text, value):
    _condition_outcome(text, Record(value=value, key="k", headers={"h": "v"}))


@fuzz(2)
@given(expressions, json_records)
def test_generated_expressions_produce_json_or_a_named_error(text, value):
    with bounded():
        try:
            expression = compile_expression(text)
            result = expression.evaluate(value, Record(value=value, key="k", headers={}))
        except (ParseError, EvalError):
            return
    json.dumps(result, allow_nan=True)  # a derived field must be writable as JSON


@fuzz()
@given(st.lists(st.sampled_from(HOSTILE + FIELDS + ["(", ")", "[", "]", ","]), max_size=30).map(" ".join))
def test_code_looking_text_never_runs(text):
    # __import__('os'), eval(, lambda ... are words of no meaning here: a parse error at most.
    _condition_outcome(text, Record(value={"a": 1}, key="k", headers={}))
