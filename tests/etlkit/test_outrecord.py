"""Output records: the JSON bytes of a value (orjson where shipped, the stdlib otherwise)."""
import json
from decimal import Decimal

import pytest
from hypothesis import given, settings

from etlkit import outrecord
from etlkit.outrecord import OutRecord, json_bytes, out_record, stdlib_json_bytes
from tests.etlkit.strategies import json_values


@settings(max_examples=300, deadline=None)
@given(json_values)
def test_json_bytes_reads_back_as_the_stdlib_text_does(value):
    assert json.loads(json_bytes(value)) == json.loads(stdlib_json_bytes(value))


@settings(max_examples=300, deadline=None)
@given(json_values)
def test_the_stdlib_encoder_writes_what_json_dumps_writes(value):
    assert stdlib_json_bytes(value) == json.dumps(value, separators=(",", ":")).encode()


def _nested(depth):
    value = []
    for _ in range(depth):
        value = [value]
    return value


@pytest.mark.parametrize("value", [
    pytest.param({"n": 2**64}, id="integer-past-64-bits"),
    pytest.param(_nested(300), id="nesting-past-254-levels"),
    pytest.param({"s": "\ud800"}, id="lone-surrogate"),
    pytest.param({1: "a", None: "b"}, id="keys-not-text"),
])
def test_what_orjson_refuses_is_written_by_the_stdlib(value):
    assert json_bytes(value) == json.dumps(value, separators=(",", ":")).encode()


def test_without_orjson_everything_goes_through_the_stdlib():
    # A function that does not ship orjson (the sources) gets the stdlib encoder, and the exact
    # writer for what the stdlib cannot write (a Decimal: etlkit.http reads long decimals so).
    value = {"é": [1e-7, 2**70, None]}
    assert outrecord._json_bytes_with(None)(value) == stdlib_json_bytes(value)
    assert outrecord._json_bytes_with(None)({"d": Decimal("1.50")}) == b'{"d":1.50}'


def test_a_refusal_of_orjson_falls_back_to_the_stdlib():
    def refuse(value):
        raise TypeError("no")
    assert outrecord._json_bytes_with(refuse)({"é": 1e-7}) == b'{"\\u00e9":1e-07}'


def test_an_unencodable_value_still_raises():
    with pytest.raises(TypeError, match="not JSON serializable"):
        json_bytes({"a": object()})


def test_out_record_is_an_out_record():
    built = out_record("t", b"{}", b"k", (("h", b"v"),), 5)
    assert type(built) is OutRecord and built == OutRecord("t", b"{}", b"k", (("h", b"v"),), 5)
    assert (built.topic, built.value, built.key, built.headers, built.timestamp_ms) == \
        ("t", b"{}", b"k", (("h", b"v"),), 5)
    assert OutRecord(topic="t", value=b"{}") == out_record("t", b"{}", None, (), None)
