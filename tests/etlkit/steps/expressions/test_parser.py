"""The parser: the trees it builds, and the errors (position + expectation) it refuses with."""
import pytest

from etlkit.steps.expressions import MAX_DEPTH, MAX_LENGTH, ParseError, parse
from etlkit.steps.expressions.nodes import (Arith, Call, Compare, Field, ListLiteral, Literal,
                                            Logical, Membership, NullCheck, Unary)


def test_precedence_and_binds_tighter_than_or():
    tree = parse("a or b and c")
    assert isinstance(tree, Logical) and tree.op == "or"
    assert isinstance(tree.operands[1], Logical) and tree.operands[1].op == "and"


def test_precedence_product_binds_tighter_than_sum():
    tree = parse("a + b * c")
    assert isinstance(tree, Arith) and tree.rest[0][0] == "+"
    product = tree.rest[0][1]
    assert isinstance(product, Arith) and product.rest[0][0] == "*"


def test_chains_of_one_level_are_flat():
    tree = parse(" + ".join(["x"] * 500))
    assert isinstance(tree, Arith) and len(tree.rest) == 499
    tree = parse(" and ".join(["x"] * 500))
    assert isinstance(tree, Logical) and len(tree.operands) == 500


def test_parentheses_override_precedence():
    tree = parse("(a + b) * c")
    assert isinstance(tree, Arith) and tree.rest[0][0] == "*"
    assert isinstance(tree.first, Arith) and tree.first.rest[0][0] == "+"


@pytest.mark.parametrize("text, path", [
    pytest.param("a", ("a",), id="plain"),
    pytest.param("customer.address.country", ("customer", "address", "country"), id="nested"),
    pytest.param("items[0].sku", ("items", 0, "sku"), id="list-index"),
    pytest.param("items[-1]", ("items", -1), id="negative-index"),
    pytest.param('a["odd key"].b', ("a", "odd key", "b"), id="bracket-string-key"),
    pytest.param("`zip-code`.`and`", ("zip-code", "and"), id="backtick-names"),
])
def test_field_paths(text, path):
    tree = parse(text)
    assert isinstance(tree, Field) and tree.root == "" and tree.path == path


def test_meta_fields():
    assert parse("$key") == Field("key", (), 0, 4)
    headers = parse('$headers["etl-source"]')
    assert isinstance(headers, Field) and headers.root == "headers" and headers.path == ("etl-source",)


@pytest.mark.parametrize("text, value", [
    pytest.param("42", 42, id="int"),
    pytest.param("-42", -42, id="negative-int-folds"),
    pytest.param("1.5e3", 1500.0, id="float-exponent"),
    pytest.param("'it\\'s'", "it's", id="escaped-quote"),
    pytest.param('"\\u00e9\\n"', "é\n", id="unicode-escape"),
    pytest.param("true", True, id="true"),
    pytest.param("null", None, id="null"),
])
def test_literals(text, value):
    tree = parse(text)
    assert isinstance(tree, Literal) and tree.value == value and type(tree.value) is type(value)


def test_comparison_forms():
    assert isinstance(parse("a <= 1"), Compare)
    member = parse("a not in [1, 2]")
    assert isinstance(member, Membership) and member.negated
    assert isinstance(member.container, ListLiteral) and len(member.container.items) == 2
    check = parse("a is not null")
    assert isinstance(check, NullCheck) and check.negated
    negation = parse("not a == 1")
    assert isinstance(negation, Unary) and isinstance(negation.operand, Compare)


def test_parenthesised_comparison_may_be_compared_again():
    # Explicit parentheses say the user means it (``(a < b) == true``); only bare chains are refused.
    tree = parse("(1 < a) == true")
    assert isinstance(tree, Compare) and isinstance(tree.left, Compare)


def test_call_arity_and_args():
    call = parse("coalesce(a, b, 'x')")
    assert isinstance(call, Call) and call.name == "coalesce" and len(call.args) == 3


def test_spans_cover_the_source():
    text = "x + 1 > limit"
    tree = parse(text)
    assert text[tree.start:tree.end] == text
    assert text[tree.left.start:tree.left.end] == "x + 1"


@pytest.mark.parametrize("text, position, expected", [
    pytest.param("", 0, "an expression", id="empty"),
    pytest.param("amount >", 8, "a value", id="missing-right-operand"),
    pytest.param("a = 1", 2, "'==' to compare", id="single-equals-hint"),
    pytest.param("a && b", 2, "'and'", id="c-style-and-hint"),
    pytest.param("!a", 0, "'not' to negate", id="bang-hint"),
    pytest.param("1 < a < 3", 6, "'and' between comparisons", id="chained-comparison"),
    pytest.param("(a", 2, "')' to close the '(' at position 0", id="unclosed-paren"),
    pytest.param("a)", 1, "an operator or end of expression", id="stray-paren"),
    pytest.param("[1, 2", 5, "',' or ']'", id="unclosed-list"),
    pytest.param("'abc", 0, "a closing ' for this string", id="unterminated-string"),
    pytest.param("'a\\q'", 3, "an escape", id="bad-escape"),
    pytest.param("'\\u12'", 3, "4 hex digits", id="short-unicode-escape"),
    pytest.param("'\\ud800'", 1, "outside the surrogate range", id="lone-surrogate"),
    pytest.param("1.", 2, "a digit after the decimal point", id="trailing-dot"),
    pytest.param("1e", 2, "a digit in the exponent", id="empty-exponent"),
    pytest.param("12abc", 2, "an operator or space after the number", id="number-glued-to-name"),
    pytest.param("a.", 2, "a field name after '.'", id="dangling-dot"),
    pytest.param("a[1.5]", 2, "a list index", id="float-index"),
    pytest.param("a[b]", 2, "a list index", id="field-as-index"),
    pytest.param("$nope", 0, "one of $key", id="unknown-meta"),
    pytest.param("$key.x", 4, "nothing after $key", id="path-below-scalar-meta"),
    pytest.param("$", 1, "a metadata name", id="bare-dollar"),
    pytest.param("eval('x')", 0, "a known function", id="unknown-function"),
    pytest.param("lower()", 0, "lower() with 1 argument", id="too-few-args"),
    pytest.param("round(1, 2, 3)", 0, "round() with 1 to 2 arguments", id="too-many-args"),
    pytest.param("and", 0, "needs backticks", id="keyword-as-field"),
    pytest.param("a is 1", 5, "'null' after 'is'", id="is-without-null"),
    pytest.param("``", 0, "a field name between the backticks", id="empty-backticks"),
    pytest.param("`abc", 0, "a closing '`'", id="unclosed-backtick"),
    pytest.param("a # b", 2, "a value, a field, or an operator", id="unknown-character"),
])
def test_parse_errors_name_position_and_expectation(text, position, expected):
    with pytest.raises(ParseError) as caught:
        parse(text)
    assert caught.value.position == position
    assert expected in caught.value.expected
    assert str(caught.value).startswith(f"position {position}: expected ")


def test_too_long_text_is_refused_before_tokenizing():
    with pytest.raises(ParseError) as caught:
        parse("a" * (MAX_LENGTH + 1))
    assert caught.value.position == MAX_LENGTH


@pytest.mark.parametrize("text", [
    pytest.param("(" * 200 + "a" + ")" * 200, id="parentheses"),
    pytest.param("not " * 200 + "a", id="not-chain"),
    pytest.param("-" * 200 + "a", id="minus-chain"),
    pytest.param("lower(" * 100 + "a" + ")" * 100, id="calls"),
    pytest.param("[" * 100 + "]" * 100, id="lists"),
])
def test_nesting_is_bounded(text):
    with pytest.raises(ParseError) as caught:
        parse(text)
    assert f"at most {MAX_DEPTH} nested levels" in caught.value.expected


def test_nesting_just_within_the_limit_parses():
    depth = MAX_DEPTH - 2
    tree = parse("(" * depth + "a" + ")" * depth)
    assert isinstance(tree, Field)


def test_non_text_is_a_parse_error():
    with pytest.raises(ParseError):
        parse(42)  # type: ignore[arg-type]


def test_limits_hold_when_parsing_starts_deep_in_a_callers_stack():
    # A web server and a test runner already use a few hundred frames before the parser runs.
    def from_depth(frames, text):
        if frames:
            return from_depth(frames - 1, text)
        return parse(text)

    deepest = MAX_DEPTH - 1
    assert isinstance(from_depth(400, "(" * deepest + "a" + ")" * deepest), Field)
    with pytest.raises(ParseError):
        from_depth(400, "(" * 500 + "a" + ")" * 500)
