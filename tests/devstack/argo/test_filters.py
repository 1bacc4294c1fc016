"""Data filters (every comparator and type, regexes, and/or), exprs, context, and their mix."""
from datetime import datetime, timezone

import pytest

from devstack.argo.filters import (ContextFilter, DependencyFilter, compile_data_filter,
                                   compile_expr_filter, filter_event)
from devstack.argo.gotemplate import parse as parse_template

NOW = datetime(2026, 1, 1, tzinfo=timezone.utc)
DATA = {"topic": "orders", "body": {"amount": 12.0, "country": "FR", "ok": True, "text": "12"}}
CONTEXT = {"type": "kafka", "subject": "orders", "source": "orders-es", "datacontenttype": "application/json"}


def _passes(*filters, **options):
    return filter_event(DependencyFilter(data=tuple(filters), **options), DATA, CONTEXT, NOW).passed


@pytest.mark.parametrize("comparator, value, expected", [
    ("", "12", True), ("=", "12", True), ("!=", "12", False), (">", "11.5", True), (">", "12", False),
    (">=", "12", True), ("<", "12", False), ("<=", "12", True), ("<", "1e2", True)],
    ids=["default-is-equal", "equal", "not-equal", "greater", "greater-not-strict", "greater-equal",
         "less", "less-equal", "exponent-value"])
def test_number_comparators(comparator, value, expected):
    assert _passes(compile_data_filter("body.amount", "number", [value], comparator)) is expected


def test_number_filter_passes_when_any_value_matches():
    assert _passes(compile_data_filter("body.amount", "number", ["1", "12"]))


def test_number_filter_reads_numeric_text_as_gjson_float_does():
    assert _passes(compile_data_filter("body.text", "number", ["12"]))


@pytest.mark.parametrize("values, comparator, expected", [
    (["^FR$"], "=", True), (["R"], "=", True), (["^DE$", "^FR$"], "=", True), (["^DE$"], "=", False),
    (["^DE$"], "!=", True), (["^FR$"], "!=", False), (["^FR$", "^DE$"], "!=", True)],
    ids=["anchored-match", "unanchored-search", "any-of-values", "no-match", "not-equal-no-match",
         "not-equal-match", "not-equal-passes-if-any-value-misses"])
def test_string_values_are_regexes(values, comparator, expected):
    assert _passes(compile_data_filter("body.country", "string", values, comparator)) is expected


@pytest.mark.parametrize("value, expected", [("true", True), ("false", False), ("1", True)],
                         ids=["true", "false", "one-is-true"])
def test_bool_filter(value, expected):
    assert _passes(compile_data_filter("body.ok", "bool", [value])) is expected


def test_missing_path_drops_the_event_with_an_error():
    result = filter_event(DependencyFilter(data=(compile_data_filter("body.nope", "number", ["1"]),)),
                          DATA, CONTEXT, NOW)
    assert not result.passed
    assert result.errors == ("data filter error (path 'body.nope' does not exist)",)


@pytest.mark.parametrize("use_or, expected", [(False, False), (True, True)], ids=["and", "or"])
def test_data_logical_operator(use_or, expected):
    passing = compile_data_filter("body.amount", "number", ["10"], ">")
    failing = compile_data_filter("body.country", "string", ["^DE$"])
    assert _passes(passing, failing, data_or=use_or) is expected


def test_or_reports_errors_but_still_passes_on_another_entry():
    missing = compile_data_filter("body.nope", "number", ["1"])
    passing = compile_data_filter("body.ok", "bool", ["true"])
    result = filter_event(DependencyFilter(data=(missing, passing), data_or=True), DATA, CONTEXT, NOW)
    assert result.passed and result.errors == ()


def test_data_filter_template_sees_the_text_of_the_value():
    entry = compile_data_filter("body.country", "string", ["^fr$"], template=parse_template("{{ lower .Input }}"))
    assert _passes(entry)


@pytest.mark.parametrize("expr, fields, expected", [
    ("a > 10 && c == 'FR'", [("a", "body.amount"), ("c", "body.country")], True),
    ("a > 20", [("a", "body.amount")], False),
    ("a == 'x'", [("a", "body.nope")], False),
], ids=["true", "false", "missing-path"])
def test_exprs(expr, fields, expected):
    f = DependencyFilter(exprs=(compile_expr_filter(expr, fields),))
    assert filter_event(f, DATA, CONTEXT, NOW).passed is expected


def test_expr_logical_or():
    f = DependencyFilter(exprs=(compile_expr_filter("a > 20", [("a", "body.amount")]),
                                compile_expr_filter("c == 'FR'", [("c", "body.country")])), exprs_or=True)
    assert filter_event(f, DATA, CONTEXT, NOW).passed


@pytest.mark.parametrize("context, expected", [(ContextFilter(subject="orders"), True),
                                               (ContextFilter(type="calendar"), False)],
                         ids=["match", "mismatch"])
def test_context_filter(context, expected):
    assert filter_event(DependencyFilter(context=context), DATA, CONTEXT, NOW).passed is expected


@pytest.mark.parametrize("use_or, expected", [(False, False), (True, True)], ids=["and", "or"])
def test_filters_logical_operator_combines_groups(use_or, expected):
    f = DependencyFilter(data=(compile_data_filter("body.amount", "number", ["100"], ">"),),
                         context=ContextFilter(subject="orders"), filters_or=use_or)
    assert filter_event(f, DATA, CONTEXT, NOW).passed is expected


@pytest.mark.parametrize("args, reason", [
    (("body.a", "string", ["x"], ">"), "only use = or !="),
    (("body.a", "number", ["x"]), "ParseFloat"),
    (("body.a", "bool", ["true"], "!="), "ignores comparators"),
    (("body.a", "bool", ["yes"]), "ParseBool"),
    (("body.a", "string", ["(?=x)"]), "RE2"),
    (("body.a", "string", ["("]), "regular expression"),
    (("body.a", "number", []), "at least one value"),
    (("body.a", "date", ["1"]), "string, number or bool"),
    (("body.a", "number", ["1"], "=="), "comparator"),
], ids=["string-ordering", "bad-number", "bool-comparator", "bad-bool", "lookahead", "bad-regex",
        "no-values", "unknown-type", "double-equals"])
def test_filters_argo_would_fail_on_every_event_are_refused(args, reason):
    with pytest.raises(ValueError, match=reason):
        compile_data_filter(*args)


def test_expr_reading_an_undeclared_field_is_refused():
    with pytest.raises(ValueError, match="reads b"):
        compile_expr_filter("a > b", [("a", "body.amount")])
