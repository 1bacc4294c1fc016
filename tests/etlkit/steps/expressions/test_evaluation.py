"""Evaluation semantics: what each operator and function returns, and what is a record failure."""
import pytest

from etlkit.steps import Record
from etlkit.steps.expressions import EvalError, compile_condition, compile_expression

ORDER = {
    "amount": 12.5,
    "qty": 3,
    "country": "FR",
    "flag": True,
    "none": None,
    "tags": ["vip", "new"],
    "customer": {"address": {"country": "DE"}, "name": "Ada"},
    "items": [{"sku": "A1", "price": 2}, {"sku": "B2", "price": 5}],
}


def value(text, record=ORDER, meta=None):
    return compile_expression(text).evaluate(record, meta)


def passes(text, record=ORDER, meta=None):
    return compile_condition(text).test(record, meta)


@pytest.mark.parametrize("text, expected", [
    pytest.param("amount > 10", True, id="float-gt-int"),
    pytest.param("qty >= 3 and qty <= 3", True, id="inclusive-bounds"),
    pytest.param("qty < 3", False, id="strict-bound"),
    pytest.param("country == 'FR'", True, id="string-equality"),
    pytest.param("country != 'FR'", False, id="string-inequality"),
    pytest.param("country < 'GB'", True, id="string-ordering"),
    pytest.param("qty == 3.0", True, id="int-equals-float"),
    pytest.param("flag == 1", False, id="bool-is-not-one"),
    pytest.param("flag == true", True, id="bool-equality"),
    pytest.param("missing == null", True, id="missing-equals-null"),
    pytest.param("none is null and missing is null", True, id="null-checks"),
    pytest.param("country is not null", True, id="not-null"),
    pytest.param("country == 1", False, id="different-types-not-equal"),
    pytest.param("customer.address.country == 'DE'", True, id="nested-field"),
    pytest.param("customer.zip.code is null", True, id="missing-intermediate-is-null"),
    pytest.param("items[1].sku == 'B2'", True, id="list-index"),
    pytest.param("items[-1].price == 5", True, id="negative-index"),
    pytest.param("items[7] is null", True, id="index-out-of-range-is-null"),
    pytest.param("country in ['FR', 'DE']", True, id="in-literal-list"),
    pytest.param("qty in [1.0, 3.0]", True, id="in-list-numeric-equality"),
    pytest.param("flag in [1]", False, id="bool-not-in-number-list"),
    pytest.param("country not in ['FR']", False, id="not-in"),
    pytest.param("'vip' in tags", True, id="in-list-field"),
    pytest.param("'da' in customer.name", True, id="substring"),
    pytest.param("'address' in customer", True, id="object-key"),
    pytest.param("items[0] in items", True, id="object-in-list"),
    pytest.param("[1, 2] == [1, 2.0]", True, id="list-equality"),
    pytest.param("[true] == [1]", False, id="nested-bool-vs-number"),
    pytest.param("not (qty > 5) or flag", True, id="not-and-or"),
    pytest.param("false and missing > 1", False, id="and-short-circuits"),
    pytest.param("true or missing > 1", True, id="or-short-circuits"),
    pytest.param("$key == 'k1' and $partition == 2", True, id="metadata"),
    pytest.param("$headers['etl-source'] == 'shop'", True, id="header"),
    pytest.param("'etl-source' in $headers", True, id="header-present"),
])
def test_condition_results(text, expected):
    meta = Record(value=ORDER, key="k1", partition=2, headers={"etl-source": "shop"})
    assert passes(text, ORDER, meta) is expected


@pytest.mark.parametrize("text, expected", [
    pytest.param("amount * qty", 37.5, id="multiply"),
    pytest.param("qty / 2", 1.5, id="true-division"),
    pytest.param("qty % 2", 1, id="modulo"),
    pytest.param("qty - -2", 5, id="minus-negative"),
    pytest.param("-(qty + 1)", -4, id="unary-minus"),
    pytest.param("country + '-' + customer.name", "FR-Ada", id="string-concat"),
    pytest.param("missing + 1", None, id="null-propagates"),
    pytest.param("lower(customer.name)", "ada", id="lower"),
    pytest.param("upper(country)", "FR", id="upper"),
    pytest.param("trim('  x ')", "x", id="trim"),
    pytest.param("length(tags)", 2, id="length-list"),
    pytest.param("round(2.675, 2)", 2.68, id="round-half-up-as-written"),
    pytest.param("round(-2.5)", -3, id="round-half-away-from-zero"),
    pytest.param("round(1234, -2)", 1200, id="round-negative-digits"),
    pytest.param("floor(-1.5)", -2, id="floor"),
    pytest.param("ceil(1.2)", 2, id="ceil"),
    pytest.param("abs(-3)", 3, id="abs"),
    pytest.param("coalesce(missing, none, 'fallback')", "fallback", id="coalesce"),
    pytest.param("coalesce(country, 1 / 0)", "FR", id="coalesce-is-lazy"),
    pytest.param("concat(country, none, '!')", "FR!", id="concat-skips-null"),
    pytest.param("string(qty) + string(flag)", "3true", id="string"),
    pytest.param("number('42') + number('0.5')", 42.5, id="number"),
    pytest.param("starts_with(country, 'F')", True, id="starts-with"),
    pytest.param("ends_with(country, 'X')", False, id="ends-with"),
    pytest.param("contains(customer.name, 'd')", True, id="contains"),
    pytest.param("lower(missing)", None, id="function-null-propagates"),
    pytest.param("[qty, country]", [3, "FR"], id="list-of-fields"),
])
def test_expression_values(text, expected):
    result = value(text)
    assert result == expected and type(result) is type(expected)


def test_list_literal_results_are_fresh_objects():
    expression = compile_expression("[1, 2]")
    first = expression.evaluate({})
    first.append(3)
    assert expression.evaluate({}) == [1, 2]


@pytest.mark.parametrize("text, record, reason", [
    pytest.param("amount > 5", {"amount": "7"}, "'amount > 5': cannot compare string with number",
                 id="string-vs-number"),
    pytest.param("amount > 5", {}, "'amount > 5': cannot compare null with number", id="missing-ordered"),
    pytest.param("flag < true", {"flag": False}, "cannot compare bool with bool", id="bools-unordered"),
    pytest.param("a and true", {"a": 1}, "'a': 'and' needs true or false, got number", id="and-non-bool"),
    pytest.param("not a", {"a": None}, "'not a': 'not' needs true or false, got null", id="not-null"),
    pytest.param("a", {"a": "yes"}, "gave string, expected true or false", id="condition-result-type"),
    pytest.param("a.b == 1", {"a": "text"}, "a.b: cannot read field 'b' of string", id="field-of-string"),
    pytest.param("a[0] == 1", {"a": {"x": 1}}, "a[0]: cannot index object with [0]", id="index-object"),
    pytest.param("a / 0 == 1", {"a": 1}, "'a / 0': division by zero", id="division-by-zero"),
    pytest.param("a % 0 == 1", {"a": 1}, "division by zero", id="modulo-by-zero"),
    pytest.param("a + 'x' == 1", {"a": 1}, "cannot apply '+' to number and string", id="number-plus-string"),
    pytest.param("a * a > 0", {"a": 1e200}, "result is not a finite number", id="float-overflow"),
    pytest.param("-a == 1", {"a": "x"}, "cannot negate string", id="negate-string"),
    pytest.param("1 in a", {"a": "abc"}, "'in' a string needs a string, got number", id="in-string-non-string"),
    pytest.param("1 in a", {"a": 5}, "'in' needs a list, string or object, got number", id="in-number"),
    pytest.param("lower(a) == 'x'", {"a": 5}, "'lower(a)': lower() expects a string, got number",
                 id="function-type"),
    pytest.param("round(a, 99) == 1", {"a": 1.5}, "digits must be an integer", id="round-digits"),
    pytest.param("floor(a) == 1", {"a": float("nan")}, "expects a finite number", id="floor-nan"),
    pytest.param("number(a) == 1", {"a": "abc"}, "cannot cast string 'abc'", id="number-bad-text"),
])
def test_evaluation_failures_are_record_errors_with_reasons(text, record, reason):
    with pytest.raises(EvalError) as caught:
        passes(text, record)
    assert reason in caught.value.reason


def test_integer_growth_is_bounded():
    expression = compile_expression(" * ".join(["a"] * 40))
    with pytest.raises(EvalError, match="integer result larger than 1024 bits"):
        expression.evaluate({"a": 10**30})


def test_string_growth_is_bounded():
    expression = compile_expression(" + ".join(["s"] * 40))
    with pytest.raises(EvalError, match="longer than 1000000 characters"):
        expression.evaluate({"s": "x" * 100_000})


def test_deep_values_are_refused_not_crashing():
    deep = current = []
    for _ in range(5000):
        current.append([])
        current = current[0]
    with pytest.raises(EvalError, match="nested deeper"):
        compile_condition("a == b").test({"a": deep, "b": deep})


def test_metadata_without_a_record_reads_null():
    assert passes("$key is null and $headers is null", {"x": 1}) is True


def test_header_dict_is_a_copy():
    record = Record(value={}, headers={"h": "1"})
    headers = compile_expression("$headers").evaluate({}, record)
    headers["h"] = "changed"
    assert record.headers == {"h": "1"}


def test_fields_lists_what_the_expression_reads():
    expression = compile_expression("coalesce(a.b, items[0].sku, $headers.x) + $key")
    assert expression.fields == ("$headers.x", "$key", "a.b", "items[0].sku")
