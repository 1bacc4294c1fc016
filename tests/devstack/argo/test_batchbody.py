"""The one-pass batch body equals, byte for byte, the general path (each payload built by the
template engine, parsed back and merged), whatever the records hold."""
import json
from datetime import datetime, timezone

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from devstack.argo import gotemplate
from devstack.argo.batchbody import envelope_of
from devstack.argo.dispatch import merge_batch
from devstack.argo.events import KafkaEvents, kafka_event
from devstack.argo.params import Param, ParamSource, construct_payload
from devstack.argo.sensor_spec import HttpAction, Trigger

NOW = datetime(2026, 11, 21, 10, 0, tzinfo=timezone.utc)
ENVELOPE = ('{"workflow": "wf", "version": 3, "step": {"kind": "map", "params": {"note": "a<b & c"}}, '
            '"event": {{ toJson .Input }}, "tail": [1.0, 2.5]}')


def _trigger(template: str, **src) -> Trigger:
    param = Param(ParamSource("in", data_template=gotemplate.parse(template), **src), None)
    return Trigger("call", ("in",), HttpAction("http://gateway.openfaas:8080/function/map", "POST", (param,)))


def _general(trigger: Trigger, events) -> bytes:
    return merge_batch([construct_payload(trigger.action.payload, {"in": e}, NOW) for e in events])


def _events(values, headers=(("etl-source", b"bench"),)):
    source = KafkaEvents(event_source="es", event_name="orders", url="kafka:9092", json_body=True)
    return [source.event("orders", i % 3, i, f"k{i}".encode(), value, 1717232400000 + 37 * i, headers, NOW)
            for i, value in enumerate(values)]


def test_step_invocation_payload_has_an_envelope_and_gives_the_general_body():
    trigger = _trigger(ENVELOPE)
    events = _events([json.dumps({"amount": a, "id": i}).encode() for i, a in enumerate([5.0, 12.5, 3, 7.25])])
    body = envelope_of(trigger).body(events)
    assert body == _general(trigger, events)
    merged = json.loads(body)
    assert [e["body"]["amount"] for e in merged["events"]] == [5, 12.5, 3, 7.25]
    assert merged["step"]["params"]["note"] == "a<b & c" and b"\\u003cb \\u0026 c" in body


@pytest.mark.parametrize("template, src", [
    ('{"events": 1, "event": {{ toJson .Input }}}', {}),  # merging would overwrite "events"
    ('{"a": {{ toJson .Input }}}', {}),  # the value is not at "event"
    ('[{{ toJson .Input }}]', {}),  # not an object
    ('{"event": {{ toJson .Input }}, "event": 1}', {}),  # a later key wins in JSON
    (ENVELOPE, {"data_key": object()}),  # a key beside the template: the general path decides
], ids=["events-key", "other-key", "array", "duplicate-key", "with-data-key"])
def test_other_payload_shapes_take_the_general_path(template, src):
    assert envelope_of(_trigger(template, **src)) is None


def test_event_that_cannot_be_encoded_sends_the_batch_down_the_general_path():
    events = _events([b'{"x": 1}', b'{"x": 1e400}'])  # Go cannot marshal +Inf either
    assert envelope_of(_trigger(ENVELOPE)).body(events) is None


NUMBERS = st.one_of(
    st.integers(min_value=-(2 ** 70), max_value=2 ** 70),
    st.floats(allow_nan=False, allow_infinity=False).filter(lambda x: x != 0 or str(x) == "0.0"),
    st.sampled_from([0.0, 1e-7, 1e-5, 1e-4, 1e16, 1e21, 2.0 ** 53, 2.0 ** 53 + 2, 4.0, -4.0, 1e300]),
)
TEXT = st.text(alphabet=st.sampled_from(list("ab<>&\u2028\u2029\"\\/\n\x00é€😀 .0e-+1")), max_size=12)
VALUES = st.recursive(st.one_of(st.none(), st.booleans(), NUMBERS, TEXT),
                      lambda inner: st.one_of(st.lists(inner, max_size=4),
                                              st.dictionaries(TEXT, inner, max_size=4)), max_leaves=12)
# Number texts as producers write them, beyond what json.dumps of a float gives.
LITERALS = st.sampled_from([b"4.0", b"1e3", b"1E+21", b"0.00001", b"12345678901234567890",
                            b"9007199254740993", b"-1.5e-7", b"100.000"])


@settings(max_examples=300, deadline=None)
@given(values=st.lists(VALUES, min_size=1, max_size=6), literal=LITERALS)
def test_fast_body_equals_the_general_path_for_any_records(values, literal):
    raw = [json.dumps({"v": v}, ensure_ascii=False).encode() for v in values]
    raw.append(b'{"n": ' + literal + b', "s": "x"}')
    events = _events(raw)
    trigger = _trigger(ENVELOPE)
    assert envelope_of(trigger).body(events) == _general(trigger, events)


def test_events_built_elsewhere_are_checked_not_trusted():
    # An Event made without the decoder's number check (plain_numbers False) still gets Go's text.
    event = kafka_event(event_source="es", event_name="orders", url="k", topic="t", partition=0, offset=1,
                        key=None, value=b"{}", timestamp_ms=0, headers=(), json_body=True, now=NOW)
    odd = type(event)(event.context, {**event.data, "body": {"x": 2.0, "y": 1e-7}})
    trigger = _trigger(ENVELOPE)
    assert envelope_of(trigger).body([odd]) == _general(trigger, [odd])
    assert b'"x":2,"y":1e-7' in envelope_of(trigger).body([odd])


def test_negative_zero_keeps_its_sign_as_go_writes_it():
    # The general path parses each payload back, and Python reads "-0" as the int 0: there the
    # one-pass body is the more faithful one (json.Marshal(-0.0) is "-0").
    body = envelope_of(_trigger(ENVELOPE)).body(_events([b'{"n": -0.0}']))
    assert b'"body":{"n":-0}' in body


def test_a_lone_surrogate_sends_the_batch_down_the_general_path_without_raising():
    ok = _events([b'{"s": "ok"}'])[0]
    events = [ok, ok._replace(data={**ok.data, "body": {"s": "\ud800"}}, plain_numbers=False)]  # not UTF-8
    assert envelope_of(_trigger(ENVELOPE)).body(events) is None


def test_a_lone_surrogate_escape_is_read_as_u_fffd_as_gjson_does():
    events = _events([b'{"s": "\\ud800"}'])  # gjson's unescape: U+FFFD (checked in test_conformance)
    assert '"s":"\ufffd"'.encode() in envelope_of(_trigger(ENVELOPE)).body(events)
