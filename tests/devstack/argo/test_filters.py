"""Data filters as the renderer writes them (pushdown): number comparators, anchored literal
strings, bools, and-ed entries; and what compile_data_filter refuses."""
import pytest

from devstack.argo.filters import compile_data_filter, filter_event, quoted_literal
from etlkit.steps.expressions.pushdown import quote_meta, to_argo_filters

DATA = {"topic": "orders", "body": {"amount": 12.0, "country": "FR", "ok": True, "text": "12",
                                    "odd": "a.b(c)*[d]{e}|f^g$h\\i?j+k"}}


def _passes(*filters):
    return filter_event(filters, DATA).passed


def _entry(path, type_, values, comparator="="):
    return compile_data_filter(path, type_, values, comparator)


@pytest.mark.parametrize("comparator, value, expected", [
    ("=", "12", True), (">", "11.5", True), (">", "12", False), (">=", "12", True), ("<", "12", False),
    ("<=", "12", True), ("<", "1e2", True)],
    ids=["equal", "greater", "greater-not-strict", "greater-equal", "less", "less-equal", "exponent-value"])
def test_number_comparators(comparator, value, expected):
    assert _passes(_entry("body.amount", "number", [value], comparator)) is expected


def test_number_filter_passes_when_any_value_matches():
    assert _passes(_entry("body.amount", "number", ["1", "12"]))


def test_number_filter_reads_numeric_text_as_gjson_float_does():
    assert _passes(_entry("body.text", "number", ["12"]))


@pytest.mark.parametrize("values, expected", [
    (["^FR$"], True), (["^DE$", "^FR$"], True), (["^DE$"], False), (["^F$"], False)],
    ids=["match", "any-of-values", "no-match", "anchored-not-a-search"])
def test_string_values_are_anchored_literals(values, expected):
    assert _passes(_entry("body.country", "string", values)) is expected


def test_every_regexp_metacharacter_quoted_is_itself():
    assert _passes(_entry("body.odd", "string", ["^" + quote_meta(DATA["body"]["odd"]) + "$"]))
    assert quoted_literal(r"^a\.b\(c\)\*\[d\]\{e\}\|f\^g\$h\\i\?j\+k$") == DATA["body"]["odd"]


@pytest.mark.parametrize("value, expected", [("true", True), ("false", False)], ids=["true", "false"])
def test_bool_filter(value, expected):
    assert _passes(_entry("body.ok", "bool", [value])) is expected


def test_missing_path_drops_the_event_with_an_error():
    result = filter_event((_entry("body.nope", "number", ["1"]),), DATA)
    assert not result.passed
    assert result.errors == ("data filter error (path 'body.nope' does not exist)",)


def test_entries_are_and_ed():
    passing = _entry("body.amount", "number", ["10"], ">")
    failing = _entry("body.country", "string", ["^DE$"])
    assert _passes(passing) and not _passes(passing, failing)


def test_what_pushdown_writes_compiles_and_keeps_what_the_condition_keeps():
    entries = to_argo_filters("amount >= 10 and country in ['FR', 'DE'] and ok == true and text == '12'")
    compiled = tuple(_entry(e["path"], e["type"], e["value"], e["comparator"]) for e in entries)
    assert _passes(*compiled)


@pytest.mark.parametrize("args, reason", [
    (("body.a", "string", ["^x$"], ">"), "a string filter takes ="),
    (("body.a", "string", ["^x$"], "!="), "a string filter takes ="),
    (("body.a", "number", ["1"], "!="), "a number filter takes =, <, <=, >, >="),
    (("body.a", "number", ["x"]), "ParseFloat"),
    (("body.a", "number", ["1e400"]), "out of range"),
    (("body.a", "bool", ["true"], "!="), "a bool filter takes ="),
    (("body.a", "bool", ["1"]), "true or false"),
    (("body.a", "string", ["x"]), "not an anchored literal"),
    (("body.a", "string", ["^x"]), "not an anchored literal"),
    (("body.a", "string", ["^x.y$"]), "not an anchored literal"),
    (("body.a", "string", [r"^\d$"]), "not an anchored literal"),
    (("body.a", "string", ["(?=x)"]), "not an anchored literal"),
    (("body.a", "number", []), "at least one value"),
    (("body.a", "date", ["1"]), "number, string, bool"),
    (("body.a", "number", ["1"], "=="), "comparator"),
    (("body.a", "number", ["1"], ""), "comparator"),
    (("body.*", "number", ["1"]), "dotted keys"),
], ids=["string-ordering", "string-not-equal", "number-not-equal", "bad-number", "number-out-of-range",
        "bool-comparator", "bool-one", "unanchored", "no-end-anchor", "unquoted-dot", "class-escape",
        "lookahead", "no-values", "unknown-type", "double-equals", "no-comparator", "wildcard-path"])
def test_what_the_renderer_does_not_write_is_refused(args, reason):
    with pytest.raises(ValueError, match=reason):
        _entry(*args)
