"""Kafka and calendar event data shaped as Argo's event sources shape them."""
import json
from datetime import datetime, timezone
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from devstack.argo import gjson, gojson
from devstack.argo.events import (InvalidBody, _decode_with_hooks, calendar_event, check_body, fast_body, go_compact,
                                  kafka_event)

NOW = datetime(2026, 11, 21, 10, 0, 5, tzinfo=timezone.utc)


def _event(**overrides):
    fields = dict(event_source="orders-raw", event_name="orders-raw", url="kafka:9092,other:9092",
                  topic="orders-raw", partition=3, offset=41, key=b"o-1",
                  value=b'{"id": "o-1", "amount": 12.5}', timestamp_ms=1795255200123,
                  headers=[("etl-source", b"api"), ("a", b"1"), ("a", b"2")], json_body=True, now=NOW)
    fields.update(overrides)
    return kafka_event(**fields)


def test_kafka_event_data_has_argos_fields_in_order():
    event = _event()
    assert list(event.data) == ["topic", "key", "partition", "body", "timestamp", "headers"]
    assert event.data_text() == (
        '{"topic":"orders-raw","key":"o-1","partition":3,"body":{"id":"o-1","amount":12.5},'
        '"timestamp":"2026-11-21 10:00:00.123 +0000 UTC","headers":{"a":"2","etl-source":"api"}}')


def test_kafka_context_id_names_source_url_topic_partition_offset():
    context = _event().context
    assert context.id == "orders-raw:orders-raw:kafka:9092:orders-raw:3:41"
    assert (context.source, context.type, context.subject) == ("orders-raw", "kafka", "orders-raw")


def test_a_null_value_is_a_null_body():
    assert _event(value=None).data["body"] is None


def test_a_base64_body_is_not_emitted_so_not_built():
    with pytest.raises(ValueError, match="emits: jsonBody: true"):
        _event(json_body=False)


@pytest.mark.parametrize("value", [b"{not json", b"NaN", b"\xff\xfe", b"", b"   ", b'{"a": 1} x', b"1 2",
                                   b"[" * 100_000], ids=["broken", "nan", "not-utf8", "empty", "only-space",
                                                         "extra-data", "two-values", "nested-too-deep"])
def test_json_body_that_is_not_json_is_invalid(value):
    with pytest.raises(InvalidBody):
        _event(value=value)


@pytest.mark.parametrize("value, body", [(b' {"a": 1}\n', {"a": 1}), (b'{"a": [1, 2.5]} \t\r\n', {"a": [1, 2.5]}),
                                         (b'"text"', "text"), (b"4.0", 4), (b"null", None)],
                         ids=["space-around", "space-after", "string", "integral-float", "null"])
def test_json_body_decodes_like_json_loads_with_go_numbers(value, body):
    assert _event(value=value).data["body"] == body


def test_calendar_event_time_prints_in_utc_with_the_monotonic_reading():
    """The listener's timer delivers time.Now(): the pod's zone, not the source's (test_conformance)."""
    fired = datetime(2026, 11, 21, 11, 0, 0, 120, tzinfo=ZoneInfo("Europe/Paris"))
    event = calendar_event(event_source="ticks", event_name="autoscaler", fired_at=fired, event_id="abc",
                           uptime_s=15.25)
    assert event.data == {"eventTime": "2026-11-21 10:00:00.00012 +0000 UTC m=+15.250000000"}
    assert (event.context.type, event.context.id) == ("calendar", "abc")


@pytest.mark.parametrize("value, body", [
    (b'{"b": [2.5, "x", null, true], "a": 1, "c": {"d": "\xc3\xa9<&>"}}',
     {"a": 1, "b": [2.5, "x", None, True], "c": {"d": "é<&>"}}),
    (b'{"a":"\\u00e9"}', {"a": "é"}),
    (b' [] ', []), (b'12', 12), (b'0.0001', 0.0001), (b'null', None),
], ids=["spaces-and-key-order", "escaped-unicode", "white-space", "int",
        "smallest-plain-float", "null"])
def test_fast_body_decodes_what_the_decoder_would(value, body):
    assert fast_body(value) == (body, True)
    assert fast_body(value)[0] == _event(value=value).data["body"]


@pytest.mark.parametrize("value, body", [
    (b'{"a":1,"a":2}', {"a": 1}),
    (b'{"a":{"b":1,"b":2},"c":[{"d":1, "d" :2}]}', {"a": {"b": 1}, "c": [{"d": 1}]}),
    (b'{"a":{"b":1},"a":{"b":2.0}}', {"a": {"b": 1}}),
    (b'{"a":"\\":","b":1}', {"a": '":', "b": 1}),
], ids=["flat", "nested", "nested-objects-duplicated", "colon-inside-a-string-is-no-key"])
def test_the_first_of_duplicate_keys_wins_as_in_gjson(value, body):
    """Argo reads the event data with gjson, where the first duplicate wins (test_conformance)."""
    event = _event(value=value)
    assert event.data["body"] == body
    assert event.body_text == value  # Argo carries the text as it came


@pytest.mark.parametrize("value", [
    b'{"a":4.0}', b'{"a":-0.0}', b'{"a":1e16}', b'{"a":0.00001}', b'{"a":9007199254740993}',
    b'{"a":"\\ud800"}', b'{broken', b'{"a":NaN}', b'{"a":1e400}',
], ids=["integral-float", "negative-zero", "from-1e16", "below-1e-4", "past-2**53", "lone-surrogate",
        "not-json", "nan", "infinite"])
def test_numbers_go_prints_otherwise_and_what_orjson_refuses_take_the_decoder(value):
    assert fast_body(value) == (None, False)


JSON_VALUES = st.recursive(
    st.one_of(st.none(), st.booleans(), st.integers(-2 ** 70, 2 ** 70), st.text(max_size=8),
              st.floats(allow_nan=False, allow_infinity=False), st.sampled_from([4.0, 1e-5, 1e17, -0.0, 0.5])),
    lambda inner: st.one_of(st.lists(inner, max_size=3), st.dictionaries(st.text(max_size=4), inner, max_size=3)),
    max_leaves=8)


@settings(max_examples=300, deadline=None)
@given(JSON_VALUES, st.booleans())
def test_fast_body_gives_what_the_hooks_give_whenever_it_answers(value, spaced):
    text = (json.dumps(value) if spaced else json.dumps(value, separators=(",", ":"), ensure_ascii=False)).encode()
    body, fast = fast_body(text)
    if fast:  # the same values, of the same types (the hooks may flag more numbers than needed)
        assert json.dumps(body) == json.dumps(_decode_with_hooks(text)[0])


# --- a value is checked and spliced, as Argo's json.RawMessage, not decoded ----------------------

@settings(max_examples=300, deadline=None)
@given(JSON_VALUES, st.sampled_from([None, 0, 2]), st.booleans())
def test_go_compact_gives_the_compact_encoding_of_any_spelling(value, indent, html):
    """Cross-checked against an independent writer: the C encoder's compact text, HTML-escaped as
    json.Marshal does. Strings with white space beside ',' or ':' keep it (hypothesis finds them)."""
    if html:
        value = [value, "a, b: <c> & d", {" k , ": " : "}]
    spaced = json.dumps(value, indent=indent, ensure_ascii=False)
    compact = gojson.escape_html(json.dumps(value, separators=(",", ":"), ensure_ascii=False))
    assert go_compact(spaced) == compact
    assert go_compact(f" \n{compact}\t") == compact


@pytest.mark.parametrize("text, compact", [
    ('{"a": "x , y"}', '{"a":"x , y"}'), ('["\\" ,", 1]', '["\\" ,",1]'), ('"a : b"', '"a : b"'),
    (' 1 ', '1'), ('{"a":1.50e+2}', '{"a":1.50e+2}'), ('"\u2028<"', '"\\u2028\\u003c"'),
], ids=["space-in-a-string", "escaped-quote-then-comma", "string-alone", "scalar-in-space",
        "number-spelling-kept", "line-separator-and-html"])
def test_go_compact_of_hand_made_texts(text, compact):
    assert go_compact(text) == compact


@pytest.mark.parametrize("value", [
    b'{"a":1}', b'12345678901234567890123', b'-1e400', b'1.5e999999', b'{"a":"\xff"}', rb'"\ud800"',
    b'"\x7f"', b'\xef\xbb\xbf{}', b'[1,]', b'NaN', b'', b'\x0c[]', b'01', b'"\x00"', b"[" * 5000,
], ids=["plain", "past-64-bits", "past-float64", "huge-exponent", "invalid-utf8", "lone-surrogate",
        "del-char", "bom", "trailing-comma", "nan", "empty", "form-feed", "leading-zero", "raw-nul", "too-deep"])
def test_check_body_takes_what_the_decoder_takes(value):
    """orjson answers first; what it refuses the stdlib judges, so the verdict is the decoder's
    (whose verdicts test_conformance checks against the real json.Valid)."""
    try:
        _decode_with_hooks(value)
    except InvalidBody:
        with pytest.raises(InvalidBody):
            check_body(value)
    else:
        check_body(value)


@settings(max_examples=300, deadline=None)
@given(st.binary(max_size=12) | JSON_VALUES.map(lambda v: json.dumps(v).encode()[:-1]))
def test_check_body_agrees_with_the_decoder_on_random_bytes(value):
    try:
        _decode_with_hooks(value)
        valid = True
    except InvalidBody:
        valid = False
    try:
        check_body(value)
        assert valid
    except InvalidBody:
        assert not valid


GET_CASES = [
    {}, {"value": b' {"a" : [1, 2.0], "h": "<&>"} '}, {"value": b'{"a":1,"a":2}'}, {"value": b'"text"'},
    {"value": b"4.0"}, {"value": None}, {"value": b"[]"}, {"key": b"\xff\xfe", "headers": [("h", b"\xc3")]},
    {"value": b'{"a":"\xff"}'},
]
GET_IDS = ["plain", "spaced-html", "duplicate-keys", "string-body", "integral-float-body", "null-body",
           "array-body", "invalid-utf8-key-and-header", "invalid-utf8-body"]


@pytest.mark.parametrize("overrides", GET_CASES, ids=GET_IDS)
@pytest.mark.parametrize("path", ["@this", "body", "topic", "key", "partition", "timestamp", "headers", "body.a"])
def test_get_off_the_text_finds_what_gjson_finds_in_the_decoded_data(overrides, path):
    """Event.get answers the emitted paths without decoding the body; the decoded data (gjson.get,
    checked against the real gjson by test_conformance) is the oracle."""
    got, decoded = _event(**overrides), _event(**overrides)
    want = gjson.get(decoded.data, gjson.parse_get_path(path), decoded.source())
    found = got.get(gjson.parse_get_path(path))
    if want is None:
        assert found is None
    else:
        assert (found.kind, found.raw(), found.string()) == (want.kind, want.raw(), want.string())
