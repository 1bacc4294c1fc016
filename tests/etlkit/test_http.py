"""Reading a JSON body: orjson where it is exact, the stdlib for everything else, one answer."""
import json
from decimal import Decimal

import orjson
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from etlkit import http
from etlkit.http import BadRequest, parse_json_body, query_flag
from tests.etlkit.strategies import json_values


@settings(max_examples=400, deadline=None)
@given(json_values, st.booleans())
def test_a_body_reads_as_the_stdlib_reads_it(value, ascii_only):
    body = json.dumps(value, ensure_ascii=ascii_only).encode("utf-8", "surrogatepass")
    try:
        expected = json.loads(body.decode("utf-8"))
    except UnicodeDecodeError:  # a lone surrogate written raw: not UTF-8
        with pytest.raises(BadRequest, match="not valid UTF-8"):
            parse_json_body(body)
        return
    got = parse_json_body(body)
    assert got == expected and json.dumps(got) == json.dumps(expected)  # types too (1 vs 1.0)


@pytest.mark.parametrize("body, value", [
    pytest.param(b'{"n": -9223372036854775809}', -9223372036854775809, id="below-int64"),
    pytest.param(b'{"n": 18446744073709551616}', 18446744073709551616, id="past-uint64"),
    pytest.param(b'{"n": 123456789012345678901234567890}', 123456789012345678901234567890, id="30-digits"),
    pytest.param(b'{"n": 9223372036854775807}', 9223372036854775807, id="int64-max"),
    pytest.param(b'{"s": "\\ud800"}', "\ud800", id="lone-surrogate-escape"),
    pytest.param(b'{"n": 1e400}', Decimal("1E+400"), id="overflowing-float"),
    pytest.param(b'{"a": 1, "a": 2}', 2, id="repeated-key-last-wins"),
])
def test_values_orjson_would_change_or_refuse_read_exactly(body, value):
    got = parse_json_body(body)
    assert list(got.values()) == [value] and type(list(got.values())[0]) is type(value)


@pytest.mark.parametrize("body, message", [
    pytest.param(b'{"a": NaN}', "body: not valid JSON (NaN is not a JSON number)", id="nan"),
    pytest.param(b'{"a": 1,}', "body: not valid JSON (Expecting property name", id="trailing-comma"),
    pytest.param(b"[" * 5000 + b"]" * 5000, "body: nested too deeply", id="deep"),
    pytest.param(b"\xff", "body: not valid UTF-8 (byte 0)", id="not-utf8"),
    pytest.param(b"", "body: required", id="empty"),
])
def test_refusals_are_the_stdlib_messages(body, message):
    with pytest.raises(BadRequest) as caught:
        parse_json_body(body)
    assert str(caught.value).startswith(message)


def test_without_orjson_the_stdlib_reads_everything(monkeypatch):
    monkeypatch.setattr(http, "_orjson_loads", None)
    assert parse_json_body(b'{"a": [1, 2.5]}') == {"a": [1, 2.5]}


# --- exact numbers (issue 15, "Exact values") ---------------------------------------------------

# Number texts as a producer may write them; hypothesis adds any decimal below.
_NUMBER_TEXTS = ["123456789012345678901234567890.123", "0.30000000000000004", "1e400", "-1E-400",
                 "1.2345678901234567890", "9007199254740993", "0.1", "1.50", "-0.0", "5e-324",
                 "1.5e-320", "18446744073709551616", "-9223372036854775809", "2.5E+3"]


def _written_back(text: str) -> Decimal:
    """The number json_bytes writes for what parse_json_body read from ``text``."""
    from etlkit.outrecord import json_bytes

    out = json_bytes(parse_json_body(f'{{"v": {text}}}'.encode()))
    return Decimal(out.decode()[len('{"v":'):-1])


@pytest.mark.parametrize("text", _NUMBER_TEXTS)
@pytest.mark.parametrize("orjson", [True, False], ids=["orjson", "stdlib-only"])
def test_a_number_is_written_back_as_the_number_it_was(text, orjson, monkeypatch):
    if not orjson:
        monkeypatch.setattr(http, "_orjson_loads", None)
    assert _written_back(text) == Decimal(text)


@settings(max_examples=300, deadline=None)
@given(st.decimals(allow_nan=False, allow_infinity=False, places=None))
def test_any_decimal_is_written_back_as_the_number_it_was(number):
    assert _written_back(str(number)) == number


@pytest.mark.parametrize("body, expected", [
    pytest.param(b'{"v": 0.30000000000000004}', 0.30000000000000004, id="a-floats-own-shortest-text"),
    pytest.param(b'{"v": 0.1}', 0.1, id="short-decimal"),
    pytest.param(b'{"v": 9223372036854775807}', 2**63 - 1, id="int64-max"),
    pytest.param(b'{"v": 1.5e300}', 1.5e300, id="big-exponent-that-a-double-holds"),
    pytest.param(b'{"v": "1234567890123456789012.5"}', "1234567890123456789012.5", id="digits-in-a-string"),
    pytest.param(b'{"v": 1.2345678901234567890}', Decimal("1.2345678901234567890"), id="20-digits"),
    pytest.param(b'{"v": 1e400}', Decimal("1e400"), id="past-a-double"),
    pytest.param(b'{"v": 1e-400}', Decimal("1e-400"), id="below-a-double"),
], )
def test_a_number_is_a_float_only_when_the_float_is_that_number(body, expected):
    got = parse_json_body(body)["v"]
    assert got == expected and type(got) is type(expected)
    if type(expected) is Decimal:
        assert str(got) == str(expected)  # its digits, not only its value


@pytest.mark.parametrize("body, fast", [
    pytest.param(b'{"a": 1.5, "b": "2024-06-01T09:00:00.123Z", "c": 1717232400123}', True, id="ordinary"),
    pytest.param(b'{"a": 0.30000000000000004, "b": 33.333333333333336}', True, id="floats-own-text"),
    pytest.param(b'{"id": "12345678901234567890123", "t": "1.2.3.4.5.6.7.8.9"}', True, id="digits-in-strings"),
    pytest.param(b'{"s": "caf\\u00e9", "a": 0.30000000000000004}', True, id="unicode-escape"),
    pytest.param(b'{"n": 18446744073709551615}', True, id="uint64-max"),
    pytest.param(b'{"n": 18446744073709551616}', False, id="past-uint64"),
    pytest.param(b'{"d": 123456789012345678901234567890.123}', False, id="long-decimal"),
    pytest.param(b'{"d": 1e-400}', False, id="3-digit-exponent"),
    # A harmless spelling beside a long number: the stdlib reads the body (exact, slower).
    pytest.param(b'{"a": 0.30000000000000004, "p": 12.50}', False, id="trailing-zero-beside-a-long-float"),
])
def test_orjson_read_is_kept_only_when_every_number_was_read_exactly(body, fast):
    assert http._read_exactly(body, orjson.loads(body)) is fast


def test_an_answer_carries_an_exact_number_with_its_digits():
    doc = parse_json_body(b'{"d": 123456789012345678901234567890.123, "s": "caf\\u00e9"}')
    assert http.json_response(200, doc)["body"] == '{"d":123456789012345678901234567890.123,"s":"caf\\u00e9"}'


def test_an_ingested_record_keeps_an_exact_number():
    # The ingest function's plan (etlkit/ingest.py) writes the record with json_record.
    from etlkit.ingest import plan_ingest

    plan = plan_ingest("orders", b'{"id": "a", "d": 123456789012345678901234567890.123}', "id", "api", 10, 1)
    assert [r.value for r in plan.records] == [b'{"id":"a","d":123456789012345678901234567890.123}']


@pytest.mark.parametrize("query,expected", [
    pytest.param({}, False, id="absent"),
    pytest.param({"end": "false"}, False, id="false"),
    pytest.param({"end": "true"}, True, id="true"),
])
def test_a_query_flag_is_true_or_false(query, expected):
    assert query_flag(query, "end") is expected


@pytest.mark.parametrize("value", ["yes", "1", "True", ""], ids=["yes", "one", "capital", "empty"])
def test_any_other_query_flag_value_is_refused_naming_it(value):
    with pytest.raises(BadRequest, match=f"end: true or false, got '{value}'"):
        query_flag({"end": value}, "end")
