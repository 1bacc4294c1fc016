"""Argo data-filter push-down: exact output for the shapes that qualify, None for the rest, and a
property test against an emulation of Argo's filterData that no kept record is ever dropped."""
import json
import math
import re

import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from etlkit.steps.expressions import EvalError, compile_condition, to_argo_filters
from etlkit.steps.expressions.pushdown import quote_meta


@pytest.mark.parametrize("text, filters", [
    pytest.param("amount >= 10", [
        {"path": "body.amount", "type": "number", "value": ["10"], "comparator": ">="}],
        id="number-comparison"),
    pytest.param("10 < amount", [
        {"path": "body.amount", "type": "number", "value": ["10"], "comparator": ">"}],
        id="constant-on-the-left-flips"),
    pytest.param("price == 2.5", [
        {"path": "body.price", "type": "number", "value": ["2.5"], "comparator": "="}],
        id="float-equality"),
    pytest.param("country == 'F.R'", [
        {"path": "body.country", "type": "string", "value": ["^F\\.R$"], "comparator": "="}],
        id="string-anchored-and-escaped"),
    pytest.param("paid == false", [
        {"path": "body.paid", "type": "bool", "value": ["false"], "comparator": "="}],
        id="bool"),
    pytest.param("customer.address.country in ['FR', 'DE']", [
        {"path": "body.customer.address.country", "type": "string", "value": ["^FR$", "^DE$"],
         "comparator": "="}], id="in-list-nested"),
    pytest.param("items[0].qty > 1", [
        {"path": "body.items.0.qty", "type": "number", "value": ["1"], "comparator": ">"}],
        id="list-index-path"),
    pytest.param("a == 1 or a == 2 or a in [3, 1]", [
        {"path": "body.a", "type": "number", "value": ["1", "2", "3"], "comparator": "="}],
        id="or-of-equalities-merges"),
    pytest.param("a > 1 and (b == 'x' and c <= 2)", [
        {"path": "body.a", "type": "number", "value": ["1"], "comparator": ">"},
        {"path": "body.b", "type": "string", "value": ["^x$"], "comparator": "="},
        {"path": "body.c", "type": "number", "value": ["2"], "comparator": "<="}],
        id="nested-and-flattens"),
    pytest.param("$key == 'k' and $partition < 3 and $headers.`etl-source` == 'shop'", [
        {"path": "key", "type": "string", "value": ["^k$"], "comparator": "="},
        {"path": "partition", "type": "number", "value": ["3"], "comparator": "<"},
        {"path": "headers.etl-source", "type": "string", "value": ["^shop$"], "comparator": "="}],
        id="metadata-paths"),
])
def test_pushable_conditions(text, filters):
    assert to_argo_filters(text) == filters
    assert to_argo_filters(compile_condition(text)) == filters


@pytest.mark.parametrize("text", [
    pytest.param("a != 1", id="not-equal-true-on-missing"),
    pytest.param("a not in [1]", id="not-in"),
    pytest.param("not a == 1", id="not"),
    pytest.param("a is null", id="null-check"),
    pytest.param("a == null", id="null-constant"),
    pytest.param("a < 'm'", id="string-ordering"),
    pytest.param("a == b", id="field-vs-field"),
    pytest.param("a + 1 > 2", id="arithmetic"),
    pytest.param("lower(a) == 'x'", id="function"),
    pytest.param("a == 1 or b == 1", id="or-across-fields"),
    pytest.param("a == 1 or a == 'x'", id="or-across-types"),
    pytest.param("a in []", id="empty-list"),
    pytest.param("a in [1, 'x']", id="mixed-type-list"),
    pytest.param("a in b", id="in-field"),
    pytest.param("a == 9007199254740993", id="beyond-float-precision"),
    pytest.param("a > -9007199254740992", id="negative-beyond-precision"),
    pytest.param("`a.b` == 1", id="dot-in-name"),
    pytest.param("`a*` == 1", id="gjson-wildcard-in-name"),
    pytest.param("items[-1] == 1", id="negative-index"),
    pytest.param("$offset > 1", id="offset-not-in-event"),
    pytest.param("$timestamp > 1", id="timestamp-format-differs"),
    pytest.param("a == [1]", id="list-constant"),
    pytest.param("flag", id="bare-field"),
    pytest.param("a > 1 and b != 2", id="one-bad-conjunct"),
])
def test_not_pushable(text):
    assert to_argo_filters(text) is None


def test_partial_keeps_the_qualifying_conjuncts():
    assert to_argo_filters("a > 1 and b != 2", partial=True) == [
        {"path": "body.a", "type": "number", "value": ["1"], "comparator": ">"}]
    assert to_argo_filters("b != 2", partial=True) is None


def test_quote_meta_matches_go_regexp_quotemeta():
    assert quote_meta(r"a.b+c*d?e(f)g|h[i]j{k}l^m$n\o") == r"a\.b\+c\*d\?e\(f\)g\|h\[i\]j\{k\}l\^m\$n\\o"
    assert quote_meta("plain-text_1 é") == "plain-text_1 é"


# -- differential property: Argo (emulated) never drops a record the condition keeps -----------

def _gjson_get(data, path):
    current = data
    for segment in path.split("."):
        if isinstance(current, dict) and segment in current:
            current = current[segment]
        elif isinstance(current, list) and segment.isdigit() and int(segment) < len(current):
            current = current[int(segment)]
        else:
            return False, None
    return True, current


def _gjson_float(value):
    if isinstance(value, bool):
        return 1.0 if value else 0.0
    if isinstance(value, (int, float)):
        return float(value)
    if isinstance(value, str):
        try:
            return float(value)
        except ValueError:
            return 0.0
    return 0.0


def _gjson_string(value):
    if isinstance(value, str):
        return value
    if value is None:
        return ""
    return json.dumps(value)


def _gjson_bool(value):
    if isinstance(value, bool):
        return value
    if isinstance(value, (int, float)):
        return value != 0
    if isinstance(value, str):
        return value.lower() in ("1", "t", "true")
    return False


_COMPARE = {"=": lambda a, b: a == b, "!=": lambda a, b: a != b, ">": lambda a, b: a > b,
            ">=": lambda a, b: a >= b, "<": lambda a, b: a < b, "<=": lambda a, b: a <= b}


def argo_passes(filters, event):
    """An emulation of argo-events filterData with the default "and" operator."""
    for entry in filters:
        exists, found = _gjson_get(event, entry["path"])
        if not exists:
            return False
        if entry["type"] == "number":
            ok = any(_COMPARE[entry["comparator"]](_gjson_float(found), float(v)) for v in entry["value"])
        elif entry["type"] == "bool":
            ok = any((v == "true") == _gjson_bool(found) for v in entry["value"])
        else:
            # Go's "$" is end of text; Python's also matches before a final newline.
            ok = any(re.search(v[:-1] + r"\Z", _gjson_string(found)) for v in entry["value"])
        if not ok:
            return False
    return True


_FIELDS = ["a", "b", "n.x", "items[0]", "$key"]
_scalars = st.one_of(
    st.integers(-1000, 1000), st.floats(-1e6, 1e6, allow_nan=False), st.booleans(),
    st.sampled_from(["", "FR", "x.y", "a\n", "$", "[", "é"]), st.none(),
    st.sampled_from([2**53 - 1, 2**53, 2**53 + 1]))  # where float64 stops being exact


def _literal(value):
    if isinstance(value, bool):
        return "true" if value else "false"
    if value is None:
        return "null"
    if isinstance(value, str):
        return json.dumps(value)
    return repr(value)


_comparisons = st.builds(
    lambda field, op, constant, flip: (f"{_literal(constant)} {op} {field}" if flip
                                       else f"{field} {op} {_literal(constant)}"),
    st.sampled_from(_FIELDS), st.sampled_from(["==", "!=", "<", "<=", ">", ">="]), _scalars,
    st.booleans())
_memberships = st.builds(
    lambda field, items: f"{field} in [{', '.join(_literal(i) for i in items)}]",
    st.sampled_from(_FIELDS), st.lists(_scalars, max_size=3))
_atoms = st.one_of(_comparisons, _memberships)
_conditions = st.recursive(
    _atoms, lambda inner: st.builds(lambda a, op, b: f"({a}) {op} ({b})", inner,
                                    st.sampled_from(["and", "or"]), inner), max_leaves=5)
_records = st.fixed_dictionaries({}, optional={
    "a": _scalars, "b": _scalars, "n": st.one_of(_scalars, st.fixed_dictionaries({"x": _scalars})),
    "items": st.lists(_scalars, max_size=2)})


@settings(max_examples=400, deadline=None)
@example(text="a > 9007199254740992", value={"a": 2**53 + 1}, key=None)  # float64 rounds a down
@example(text="9007199254740992 < a", value={"a": 2**53 + 1}, key=None)
@example(text="b == 'x.y' and a in ['[', '$']", value={"a": "$", "b": "x.y"}, key=None)
@given(text=_conditions, value=_records, key=st.one_of(st.none(), st.sampled_from(["FR", "k"])))
def test_pushdown_never_drops_a_record_the_condition_keeps(text, value, key):
    from etlkit.steps import Record

    filters = to_argo_filters(text, partial=True)
    if filters is None:
        return
    record = Record(value=value, key=key)
    try:
        kept = compile_condition(text).test(value, record)
    except EvalError:
        return
    if kept:
        event = {"body": value, "key": key or "", "topic": "t", "partition": 0, "headers": {}}
        assert argo_passes(filters, event), (text, value, filters)
    for entry in filters:  # what the Sensor will parse: finite floats, anchored patterns
        if entry["type"] == "number":
            assert all(math.isfinite(float(v)) for v in entry["value"])
        if entry["type"] == "string":
            assert all(v.startswith("^") and v.endswith("$") for v in entry["value"])
