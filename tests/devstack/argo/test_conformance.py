"""The emulator against Argo Events' own code (v1.9.11): event data and payloads, case by case.

Each case runs twice on the same Kafka message: through ``argo-conformance`` (``make tools``;
``devstack.argo.oracle``), which calls Argo's ``triggers.ConstructPayload`` on the event its Kafka
EventSource and EventBus build, and through the emulator as the runner drives it
(``sensor_spec.parse_sensor`` on the manifest, ``KafkaEvents.event``, ``construct_payload``). The
answers must be identical: the payload bytes, or both refusing the message.
The cases are the constructs we emit (the emulator refuses the rest at load:
``test_refused.py``), on every kind of record.
Where Argo's behaviour is a defect of ours the emulator keeps it, and an ``xfail(strict=True)``
test names the issue that fixes it.

One oracle process for the module. Without the binary the tests skip, unless ``CI`` is set: then
they fail naming what is missing.
"""
from __future__ import annotations

import json
import pathlib
import re
import time
from datetime import datetime, timezone
from zoneinfo import ZoneInfo

import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from devstack.argo.events import Event, EventContext, InvalidBody, KafkaEvents, calendar_event
from devstack.argo.oracle import Message, Oracle
from devstack.argo.params import PayloadError, construct_payload
from devstack.argo.sensor_spec import parse_sensor
from devstack.argo.yamlnode import ManifestError, Node
from etlkit.stepfn import parse_invocation

from . import factory

REPO = pathlib.Path(__file__).resolve().parents[3]
COMMITTED_SENSORS = sorted((REPO / "argo-events" / "sensors").glob("*.yaml"))
ENVELOPE = '{"workflow": "w", "version": 1, "source": {"kind": "sql"}, "event": {{ toJson .Input }}}'  # a tick's
STEP = factory.step_payload("dep", "w", 3, {"kind": "filter", "output": "paid"})  # a step's (issue 15)
DEFAULT_PARAMS = [{"src": {"dependencyName": "dep", "value": "x"}, "dest": "x"}]


# --- the emulator, driven as the runner drives it ------------------------------------------

def _sensor(payload=None, dependencies=("dep",)):
    deps = [{"name": name, "eventSourceName": f"es-{name}", "eventName": name} for name in dependencies]
    template = {"name": "t", "http": {"url": "http://gateway:8080/function/f",
                                      "payload": payload if payload is not None else DEFAULT_PARAMS}}
    if len(dependencies) > 1:
        template["conditions"] = dependencies[0]  # fired by the first, as the renderer names it
    doc = {"apiVersion": "argoproj.io/v1alpha1", "kind": "Sensor", "metadata": {"name": "case"},
           "spec": {"dependencies": deps, "triggers": [{"template": template}]}}
    return parse_sensor(Node("case.yaml", "", doc))


def _event(message: Message):
    if message.data is not None:  # another source's event data, given to both sides as is
        return Event(EventContext(id=message.event_id, source=message.event_source, type=message.type,
                                  subject=message.event_name, time=message.time), json.loads(message.data))
    events = KafkaEvents(event_source=message.event_source, event_name=message.event_name,
                         url=message.url, json_body=True)
    return events.event(message.topic, message.partition, message.offset, message.key, message.value,
                        message.timestamp_ms, message.headers, message.time)


def emulate_payload(events: dict[str, Message], params) -> dict:
    names = tuple(dict.fromkeys([*events, *(p["src"]["dependencyName"] for p in params)]))
    trigger = _sensor(payload=params, dependencies=names).triggers[0]
    try:
        resolved = {name: _event(m) for name, m in events.items()}
    except InvalidBody:
        return {"rejected": True}
    try:
        return {"payload": construct_payload(trigger.action.payload, resolved, next(iter(events.values())).time)}
    except PayloadError:
        return {"error": True}


def real_payload(oracle: Oracle, events: dict[str, Message], params) -> dict:
    result = oracle.payload(events, params)
    if "rejected" in result:
        return {"rejected": True}
    if "error" in result:
        return {"error": True}
    return result


def _body(text: str) -> Message:
    return Message(value=text.encode())


@pytest.mark.parametrize("body", ["{nope", "", "12 13", '{"a": NaN}', '{"a": 1}x'],
                         ids=["broken", "empty", "two-values", "nan", "trailing-garbage"])
def test_a_body_that_is_not_json_is_rejected_by_both(oracle, body):
    events = {"dep": _body(body)}
    assert emulate_payload(events, STEP) == real_payload(oracle, events, STEP) == {"rejected": True}


# --- payloads -------------------------------------------------------------------------------

def _src(dest, **src):
    return {"src": {"dependencyName": "dep", **src}, "dest": dest}


PAYLOAD_CASES = [  # the parameter forms we emit (sensor_spec refuses the rest: test_refused.py)
    ([_src("", dataTemplate=ENVELOPE)], '{"id": "o1", "amount": 12.5, "n": 3, "tags": ["a"]}'),
    ([_src("", dataTemplate=ENVELOPE)], '{"b": 1, "a": {"z": 1, "y": [1, 2.0, -0.0]}}'),
    ([_src("", dataTemplate=ENVELOPE)], '{"html": "<a href=\\"x\\">&</a>", "ls": "\\u2028\\u2029"}'),
    ([_src("", dataTemplate=ENVELOPE)], '{"big": 1e21, "small": 1e-7, "mid": 123456.789}'),
    ([_src("", dataTemplate=ENVELOPE)], '{"text": "tab\\there", "ctl": "\\u0001", "emoji": "\\ud83d\\ude00"}'),
    ([_src("", dataTemplate=ENVELOPE)], "null"),
    ([_src("", dataTemplate=ENVELOPE)], "[1, 2]"),
    ([_src("", dataTemplate=ENVELOPE)], '"text"'),
    ([_src("payload", dataKey="body", useRawData=True)], '{"b": 1, "a": [1.50, 2E3, "x"]}'),
    ([_src("payload", dataKey="body", useRawData=True)], '  { "spaced" : [ 1 , 2 ] }  '),
    ([_src("payload", dataKey="body", useRawData=True)], '{"html": "<&>"}'),
    ([_src("payload", dataKey="body")], '{"b": 1}'),
    ([_src("payload", dataKey="body.n", useRawData=True)], '{"n": 3}'),
    ([_src("payload", dataKey="body.n")], '{"n": 3}'),
    ([_src("payload", dataKey="body.n", useRawData=True)], '{"n": 1.0}'),
    ([_src("payload", dataKey="body.n")], '{"n": 1e21}'),
    ([_src("payload", dataKey="body.s", useRawData=True)], '{"s": "x\\"y"}'),
    ([_src("payload", dataKey="body.t", useRawData=True)], '{"t": true}'),
    ([_src("payload", dataKey="body.z", useRawData=True)], '{"z": null}'),
    ([_src("payload", dataKey="body.z")], '{"z": null}'),
    ([_src("payload", dataKey="body.missing")], "{}"),
    ([_src("step", value="paid-only"), _src("reason", value="x did not answer"),
      _src("payload", dataKey="body", useRawData=True), _src("topic", dataKey="topic"),
      _src("key", dataKey="key")], '{"id": "o1"}'),
    ([_src("h", dataKey="headers.etl-source")], "{}"),
    ([_src("d", dataKey="body.a.b", useRawData=True), _src("e", dataKey="body.a", useRawData=True)],
     '{"a": {"c": 1}, "a": {"b": [2.50]}}'),
    ([_src("s", value="a<b&c>"), _src("t", value="é<"), _src("u", value="del\x7f"), _src("v", value='q"')], "{}"),
    ([_src("s", dataKey="body.s")], '{"s": "<\\u00e9>"}'),
]
PAYLOAD_IDS = [
    "envelope-record", "envelope-sorts-keys-and-normalises-numbers", "envelope-html-escaped",
    "envelope-float-formats", "envelope-control-and-astral", "envelope-null-body", "envelope-array-body",
    "envelope-string-body", "raw-body-object", "raw-body-whitespace", "raw-body-html", "body-as-string",
    "raw-number", "number-as-string", "raw-integral-float", "exponent-number-as-string", "raw-string",
    "raw-bool", "raw-null", "null-not-raw", "missing-key-error", "committed-dead-letter-fields", "header-key",
    "duplicate-keys-path-search", "sjson-string-escaping", "key-string-unescaped",
]


@pytest.mark.parametrize("params, body", PAYLOAD_CASES, ids=PAYLOAD_IDS)
def test_payload_as_argo(oracle, params, body):
    message = Message(value=body.encode(), headers=(("etl-source", b"api"),))
    events = {"dep": message}
    assert emulate_payload(events, params) == real_payload(oracle, events, params)


# --- the step invocation (issue 15): value, contextKey id, dataKey "@this" with useRawData ----

STEP_BODIES = [
    '{"id": "o1", "amount": 12.5}',
    '{"big": 9223372036854775807, "past": 9007199254740993, "neg": -9223372036854775808}',
    '{"dec": 123456789012345678901234567890.123456789012345678901234567890, "tiny": 1e-400}',
    '{"f": 1.0, "z": -0.0, "e": 2E3, "x": 1e+21, "inf": 1e400}',
    '  { "spaced" : [ 1 , 2.50 ] ,"html": "<&>" }  ',
    '{"a": 1, "a": 2}',
    '{"records": [{"key": "k", "value": {"n": 18446744073709551616}}], "end": true}',
    "null", "[1, 2]", '"text"', "12345678901234567890",
]
STEP_BODY_IDS = ["record", "int64-and-2**53+1", "30-digit-decimals", "float-spellings", "whitespace-and-html",
                 "duplicate-keys", "record-batch", "null", "array", "string", "bare-big-number"]


@pytest.mark.parametrize("body", STEP_BODIES, ids=STEP_BODY_IDS)
def test_the_step_payload_as_argo(oracle, body):
    """The step Sensor's payload on the real code: value texts, the event ID, the event data's bytes."""
    message = Message(value=body.encode(), headers=(("etl-batch", b"b-1"),))
    events = {"dep": message}
    real = real_payload(oracle, events, STEP)
    assert emulate_payload(events, STEP) == real
    sent = json.loads(real["payload"])
    assert list(sent) == ["workflow", "version", "step", "id", "event"]
    assert sent["id"] == message.event_id == "orders:orders:kafka:9092:orders:0:7"
    assert real["payload"].endswith(b',"event":' + oracle.event(message)["data"] + b"}")


@pytest.mark.parametrize("number", ["9223372036854775807", str(2 ** 53 + 1), "123456789012345678901234567890.5",
                                    "0.30000000000000000001"],
                         ids=["int64-max", "2**53+1", "30-digit-decimal", "long-fraction"])
def test_a_number_reaches_the_function_unchanged_through_the_step_payload(oracle, number):
    """No float64 on the way: Argo splices the event data's bytes (gjson @this, sjson raw), and the
    function reads the number as it was sent (etlkit.stepfn.parse_invocation)."""
    events = {"dep": _body(f'{{"n": {number}}}')}
    real = real_payload(oracle, events, STEP)
    assert emulate_payload(events, STEP) == real
    assert f'"body":{{"n":{number}}}'.encode() in real["payload"]
    invocation = parse_invocation(real["payload"], kind="filter")
    assert (invocation.workflow, invocation.version, invocation.identity) == \
        ("w", 3, "orders:orders:kafka:9092:orders:0:7")


@pytest.mark.parametrize("url, event_id", [
    ("kafka:9092", "orders:orders:kafka:9092:orders:3:41"),
    ("b-0.kafka:9092,b-1.kafka:9092", "orders:orders:b-0.kafka:9092:orders:3:41"),
], ids=["one-broker", "first-of-several"])
def test_context_key_id_is_the_kafka_event_id(oracle, url, event_id):
    """``contextKey: id`` reads the EventContext's ID, which the Kafka EventSource sets to
    ``genUniqueID`` (pkg/eventsources/sources/kafka/start.go): source, event, the FIRST url,
    topic, partition, offset. The emulator builds it; the oracle reads it back from the context."""
    message = Message(value=b"{}", url=url, partition=3, offset=41)
    assert _event(message).context.id == event_id
    params = [_src("id", contextKey="id")]
    real = real_payload(oracle, {"dep": Message(value=b"{}", partition=3, offset=41, id=event_id)}, params)
    assert emulate_payload({"dep": message}, params) == real == {"payload": f'{{"id":"{event_id}"}}'.encode()}


def _source_kinds() -> dict[tuple[str, str], str]:
    """(eventSourceName, eventName) -> kafka or calendar, from the committed EventSources."""
    kinds = {}
    for path in sorted((REPO / "argo-events" / "event-sources").glob("*.yaml")):
        for doc in yaml.safe_load_all(path.read_text()):
            for kind in ("kafka", "calendar"):
                for event in ((doc or {}).get("spec", {}).get(kind) or {}):
                    kinds[(doc["metadata"]["name"], event)] = kind
    return kinds


def _committed_payloads():
    """(file:trigger, source kind, parameters) of every trigger and dlqTrigger we commit, without
    the ``now`` templates (the clock differs; see the test below)."""
    kinds, found = _source_kinds(), []
    for path in COMMITTED_SENSORS:
        for doc in yaml.safe_load_all(path.read_text()):
            spec = (doc or {}).get("spec", {})
            source_of = {d["name"]: kinds[(d["eventSourceName"], d["eventName"])] for d in spec["dependencies"]}
            for trigger in spec.get("triggers", []):
                for t in (trigger, trigger.get("dlqTrigger")):
                    if not t:
                        continue
                    action = t["template"].get("http") or t["template"].get("kafka") or {}
                    params = [p for p in action.get("payload", []) if "now" not in p["src"].get("dataTemplate", "")]
                    if params:
                        kind = source_of[params[0]["src"]["dependencyName"]]
                        found.append((f"{path.name}:{t['template']['name']}", kind, params))
    return found


COMMITTED_PAYLOADS = _committed_payloads()
TICK = calendar_event(event_source="orders-ticks", event_name="autoscaler", event_id="0f1e2d",
                      fired_at=datetime(2026, 11, 21, 10, 0, 15, tzinfo=timezone.utc), uptime_s=15.000212)


@pytest.mark.parametrize("kind, params", [(k, p) for _, k, p in COMMITTED_PAYLOADS],
                         ids=[n for n, _, _ in COMMITTED_PAYLOADS])
def test_committed_payloads_as_argo(oracle, kind, params):
    dependency = params[0]["src"]["dependencyName"]
    if kind == "calendar":
        message = Message(type="calendar", data=TICK.data_text().encode(), id=TICK.context.id,
                          event_source=TICK.context.source, event_name=TICK.context.subject, time=TICK.context.time)
    else:
        message = Message(value=b'{"id": "o-1", "amount": 12.5, "quantity": 3, "status": "paid", '
                                b'"note": "<b>&</b>", "tags": ["a", "b"], "nested": {"z": 1, "a": null}}',
                          key=b"o-1", topic=dependency)
    events = {dependency: message}
    assert emulate_payload(events, params) == real_payload(oracle, events, params)


_GO_TICK_TIME = re.compile(r"\d{4}-\d\d-\d\d \d\d:\d\d:\d\d(\.\d{1,9})? \+0000 UTC m=\+\d+\.\d{9}")


def test_a_calendar_tick_has_the_real_listeners_event_data(oracle):
    """The real listener, run for one tick: eventTime is time.Now() (UTC here and in a pod, not the
    source's timezone) with Go's monotonic reading; the emulator writes the same shape."""
    source = {"interval": "1s"}
    real = json.loads(oracle.calendar(source)["data"])
    fired = datetime.now(ZoneInfo("Europe/Paris"))
    emulated = json.loads(calendar_event(event_source="ticks", event_name="tick", fired_at=fired, event_id="x",
                                         uptime_s=1.0).data_text())
    assert real.keys() == emulated.keys() == {"eventTime"}
    assert _GO_TICK_TIME.fullmatch(real["eventTime"]), real["eventTime"]
    assert _GO_TICK_TIME.fullmatch(emulated["eventTime"]), emulated["eventTime"]


def test_now_in_a_template_is_the_current_time_in_both(oracle):
    params = [_src("at", dataTemplate="{{ (now).UnixMilli }}")]
    events = {"dep": Message()}
    before = int(time.time() * 1000)
    real = json.loads(real_payload(oracle, events, params)["payload"])
    # The emulator is given the clock: the message time stands in for "now" there.
    emulated = json.loads(emulate_payload(events, params)["payload"])
    after = int(time.time() * 1000)
    assert before <= int(real["at"]) <= after
    assert int(emulated["at"]) == int(Message().time.timestamp() * 1000)


def test_a_parameter_that_may_find_no_event_panics_argo_and_is_refused_here(oracle):
    """``ConstructPayload`` with a dest, no event of the dependency and no ``value`` dereferences a
    nil value: the Sensor process panics (no recover in v1.9.11). The emulator refuses such a
    trigger at load (the renderer never emits one: each trigger names the one input firing it)."""
    params = [_src("a", value="x"), {"src": {"dependencyName": "other", "dataKey": "body"}, "dest": "b"}]
    events = {"dep": Message()}
    assert "nil pointer dereference" in oracle.payload(events, params)["panic"]
    with pytest.raises(ManifestError, match="Argo's Sensor panics"):
        emulate_payload(events, params)


# --- bytes that are not UTF-8 inside a JSON string: Argo takes them (json.Valid checks no UTF-8) --

NOT_UTF8 = Message(value=b'{"a": "x\xffy", "n": 1, "t": "\xe2\x82", "ok": "\xc3\xa9"}')


@pytest.mark.parametrize("params", [
    [_src("", dataTemplate=ENVELOPE)], [_src("payload", dataKey="body", useRawData=True)],
    [_src("s", dataKey="body.a")], STEP,
], ids=["envelope-writes-ufffd", "raw-body-keeps-the-bytes", "string-writes-ufffd", "step-event-keeps-the-bytes"])
def test_a_string_with_invalid_utf8_reaches_the_payload_as_argo_writes_it(oracle, params):
    events = {"dep": NOT_UTF8}
    assert emulate_payload(events, params) == real_payload(oracle, events, params)


@pytest.mark.parametrize("body", [
    rb'{"a": "\ud800x"}', rb'{"a": "\udcff"}', rb'{"a": "\ud83d\ude00"}', rb'{"a": "\ud800\u0041b"}',
    rb'{"a": "\\ud800"}', rb'{"a": "\ude00\ud83d"}', rb'{"\ud800": 1, "a": "x"}', rb'{"a": "\u0000"}',
], ids=["lone-high", "lone-low", "valid-pair", "high-then-other-escape-is-one-rune", "escaped-backslash",
        "low-then-high", "in-a-key", "nul"])
def test_utf16_escapes_are_read_as_gjson_reads_them(oracle, body):
    message = Message(value=body)
    events = {"dep": message}
    for params in ([_src("", dataTemplate=ENVELOPE)], [_src("p", dataKey="body", useRawData=True),
                                                        _src("s", dataKey="body.a")], STEP):
        assert emulate_payload(events, params) == real_payload(oracle, events, params)


def test_event_data_with_invalid_utf8_is_argos(oracle):
    assert _event(NOT_UTF8).data_text().encode("utf-8", "surrogateescape") == oracle.event(NOT_UTF8)["data"]


# --- the event itself ----------------------------------------------------------------------

EVENT_CASES = [
    Message(value=b'{"a": 1}'),
    Message(value=b'{"html": "<&>", "u": "\\u00e9", "raw": "\xc3\xa9"}'),
    Message(value=b'  {"a" : [1 ,2]}  '),
    Message(value=None),
    Message(value=b'{"a": 1}', key=None),
    Message(value=b'{"a": 1}', key=b"\xff\xfe"),
    Message(value=b'{"a": 1}', key=b"a\xe2\x82\xef\xbf\xbdb", headers=(("h", b"\xc3"),)),
    Message(value=b'{"a": 1}', headers=(("b", b"2"), ("a", b"1"), ("a", b"3"))),
    Message(value=b'{"a": 12345678901234567890, "b": 1.0, "c": 1e400}'),
    Message(value=b'{"a": 1, "a": 2}'),
    Message(value=b"{}", time=datetime(2026, 3, 29, 3, 0, 0, 123400, tzinfo=ZoneInfo("Europe/Paris"))),
]
EVENT_IDS = [
    "plain", "html-and-utf8", "whitespace", "null-value", "null-key", "invalid-utf8-key",
    "truncated-utf8-key-and-header-beside-a-real-replacement-char", "headers-sorted-last-wins",
    "numbers-kept-verbatim", "duplicate-keys-kept",
    "context-time-in-another-zone",
]


@pytest.mark.parametrize("message", EVENT_CASES, ids=EVENT_IDS)
def test_event_data_bytes_as_argo(oracle, message):
    """The event data bytes (what toJson .Input and every dataKey read): Argo's, written by our encoder."""
    real = oracle.event(message)
    event = _event(message)
    assert event.data_text().encode() == real["data"]
    assert event.context.as_json() == real["context"]


# --- property: random records through the step payload, the envelope template and raw keys --

_json_leaf = (st.none() | st.booleans() | st.integers(min_value=-(2**63), max_value=2**63 - 1)
              | st.floats(allow_nan=False, allow_infinity=False) | st.text(max_size=8))
_json = st.recursive(_json_leaf, lambda inner: st.lists(inner, max_size=4)
                     | st.dictionaries(st.text(max_size=6), inner, max_size=4), max_leaves=12)
_records = st.dictionaries(st.sampled_from(["id", "amount", "status", "n"]) | st.text(max_size=5),
                           _json, max_size=6)
# How the producer wrote the record: Argo carries the text as it came, the emulator must too.
_styles = st.sampled_from([{}, {"ensure_ascii": False}, {"separators": (",", ":")},
                           {"indent": 1, "ensure_ascii": False}])
_EXTRA_FIELDS = {"none": b"", "invalid-byte": b'"zz": "a\xffb"', "lone-surrogate": b'"zz": "\\udc00x"',
                 "surrogate-pair": b'"zz": "\\ud83d\\ude00"'}


@st.composite
def _bodies(draw):
    """A record as some producer wrote it: styled, sometimes with a duplicate key, a byte that is
    not UTF-8 or a UTF-16 escape added (Argo carries all of them)."""
    record, style = draw(_records), draw(_styles)
    text = json.dumps(record, **style).encode()
    if record and draw(st.booleans()):
        first = json.dumps({next(iter(record)): draw(_json)})[1:-1].encode()
        text = b"{" + first + b", " + text[1:]
    extra = _EXTRA_FIELDS[draw(st.sampled_from(sorted(_EXTRA_FIELDS)))]
    if extra:
        text = text[:-1].rstrip() + (b", " if text.strip() != b"{}" else b"") + extra + b"}"
    return text


_RANDOM_PAYLOADS = (
    [_src("", dataTemplate=ENVELOPE)],
    [_src("payload", dataKey="body", useRawData=True), _src("key", dataKey="key")],
    [_src("a", dataKey="body.amount", useRawData=True), _src("s", dataKey="body.status")],
    [_src("n", dataKey="body.n.0", useRawData=True)], STEP,
)


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(body=_bodies())
def test_random_records_build_the_same_payloads(oracle, body):
    events = {"dep": Message(value=body)}
    for params in _RANDOM_PAYLOADS:
        assert emulate_payload(events, params) == real_payload(oracle, events, params)


# --- what Argo does that we do not want (issue 15) -------------------------------------------

@pytest.mark.parametrize("number", ["12345678901234567", "9223372036854775807", "9007199254740993",
                                    "123456789.123456789", "0.30000000000000000001"])
def test_the_emulator_rounds_numbers_in_input_as_argo_does(oracle, number):
    """``.Input`` is gjson's ``Value()``: every number a float64, so integers past 2**53 and long
    decimals round; the emulator does the same."""
    events = {"dep": _body(f'{{"id": {number}}}')}
    params = [_src("", dataTemplate=ENVELOPE)]
    real = real_payload(oracle, events, params)
    assert emulate_payload(events, params) == real
    assert number.encode() not in real["payload"]


STEP_CALLS = [(name, params) for name, kind, params in COMMITTED_PAYLOADS
              if kind == "kafka" and not name.endswith("-dead-letter")]


@pytest.mark.parametrize("number", ["12345678901234567", "9223372036854775807", "123456789.123456789"])
def test_a_number_reaches_the_function_unchanged(oracle, number):
    """Through every committed step Sensor's call, on the real code: the number as it was sent."""
    assert STEP_CALLS, "no committed step Sensor: this test checks nothing"
    for name, params in STEP_CALLS:
        events = {params[0]["src"]["dependencyName"]: _body(f'{{"id": {number}}}')}
        payload = real_payload(oracle, events, params)["payload"]
        assert number.encode() in payload, (name, payload)
