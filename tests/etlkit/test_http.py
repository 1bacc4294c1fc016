"""Reading a JSON body: orjson where it is exact, the stdlib for everything else, one answer."""
import json
from decimal import Decimal

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from etlkit import http
from etlkit.http import BadRequest, parse_json_body
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
