"""govaluate expressions: results, type errors and refusals."""
import pytest

from devstack.argo.govaluate import ExprError, parse

PARAMS = {"amount": 12.0, "country": "FR", "flag": True, "dash-name": 1.0, "items": [1.0, 2.0]}


@pytest.mark.parametrize("source, expected", [
    ("amount > 10 && country == 'FR'", True),
    ("amount > 20 || country == \"FR\"", True),
    ("!(flag) || amount >= 13", False),
    ("country =~ '^F'", True),
    ("country !~ '^F'", False),
    ("country in ('DE', 'FR')", True),
    ("amount + 1 == 13", True),
    ("country + amount", "FR12"),
    ("-amount < 0", True),
    ("[dash-name] == 1", True),
    ("amount * 2 / 4 % 5", 1.0),
    ("2 ** 3", 8.0),
    ("'a' < 'b'", True),
    ("amount == '12'", False),
    ("amount > 1 && amount < 100 || false", True),
], ids=["and", "or-double-quotes", "not", "regex-match", "regex-no-match", "in-list", "arithmetic",
        "string-concat", "unary-minus", "escaped-name", "mul-div-mod", "power", "string-order",
        "no-coercion-in-equality", "precedence"])
def test_evaluate(source, expected):
    assert parse(source).evaluate(PARAMS) == expected


@pytest.mark.parametrize("source, reason", [
    ("amount > 'x'", "cannot be used with the operator"),
    ("nope == 1", "No parameter 'nope'"),
    ("amount && true", "not a bool"),
    ("!amount", "not a bool"),
    ("country in amount", "not an array"),
], ids=["number-vs-string-order", "unknown-parameter", "and-on-number", "not-on-number", "in-non-array"])
def test_type_errors_are_expr_errors(source, reason):
    with pytest.raises(ExprError, match=reason):
        parse(source).evaluate(PARAMS)


@pytest.mark.parametrize("source, reason", [
    ("a ? b : c", "ternary"), ("a & b", "bitwise"), ("a ?? b", r"\?\?"), ("(a", "unbalanced"),
    ("a b", "unexpected"), ("", "non-empty"), ("a == #", "unexpected character")],
    ids=["ternary", "bitwise", "coalesce", "unbalanced", "juxtaposed", "empty", "bad-character"])
def test_unsupported_expressions_are_refused(source, reason):
    with pytest.raises(ExprError, match=reason):
        parse(source)


def test_variables_are_reported():
    assert parse("a > 1 && [b-c] == 'x' || a.d").variables == {"a", "b-c", "a.d"}
