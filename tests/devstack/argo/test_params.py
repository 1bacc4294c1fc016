"""Payload construction for the parameters the renderer emits: string vs raw, empty dest, templates."""
import json
from datetime import datetime, timezone

import pytest

from devstack.argo import events, gjson, gotemplate
from devstack.argo.events import kafka_event
from devstack.argo.params import Param, ParamSource, PayloadError, construct_payload, resolve
from devstack.argo.sensor_spec import parse_sensor
from devstack.argo.yamlnode import Node

from . import factory

NOW = datetime(2026, 11, 21, 10, 0, tzinfo=timezone.utc)
EVENT = kafka_event(event_source="es", event_name="orders", url="kafka:9092", topic="orders",
                    partition=1, offset=7, key=b"o1", value=b'{"id":"o1","amount":12.5,"n":3,"tags":["a"]}',
                    timestamp_ms=1795255200123, headers=[("etl-source", b"api")], json_body=True, now=NOW)
EVENTS = {"dep": EVENT}


def _param(dest, **src):
    if "data_key" in src:
        src["data_key"] = gjson.parse_get_path(src["data_key"])
    if "data_template" in src:
        src["data_template"] = gotemplate.parse(src["data_template"])
    return Param(ParamSource(src.pop("dependency", "dep"), **src), dest)


def _payload(*params):
    return json.loads(construct_payload(params, EVENTS, NOW))


@pytest.mark.parametrize("src, raw, expected", [
    ({"data_key": "body.n"}, False, "3"),
    ({"data_key": "body.n"}, True, 3),
    ({"data_key": "body.tags"}, False, '["a"]'),
    ({"data_key": "body.tags"}, True, ["a"]),
    ({"data_key": "body.id"}, True, "o1"),
    ({"value": "3"}, True, "3"),
    ({"data_template": "{{ (now).UnixMilli }}"}, True, "1795255200000"),
], ids=["number-as-string", "number-raw", "array-as-string", "array-raw", "string-stays-string-raw",
        "value-is-always-string", "template-text-is-string"])
def test_value_at_dest_is_string_unless_raw_and_not_string(src, raw, expected):
    assert _payload(_param("x", use_raw_data=raw, **src)) == {"x": expected}


def test_empty_dest_makes_the_value_the_whole_payload():
    body = construct_payload([_param(None, data_key="body")], EVENTS, NOW)
    assert body == b'{"id":"o1","amount":12.5,"n":3,"tags":["a"]}'


def test_unresolvable_key_fails_the_attempt():
    with pytest.raises(PayloadError, match="unable to resolve 'dep'"):
        construct_payload([_param("x", data_key="body.zz")], EVENTS, NOW)


def test_parameter_of_a_dependency_without_event_uses_value_or_is_skipped():
    params = [_param("a", dependency="other", value="v"), _param("b", dependency="other", data_key="key"),
              _param("c", value="c")]
    assert _payload(*params) == {"a": "v", "c": "c"}
    assert resolve(params[1].src, EVENTS, NOW) is None


def test_no_parameters_give_an_empty_body():
    assert construct_payload([], EVENTS, NOW) == b""


def test_the_runners_invocation_template_gives_the_contract_shape():
    template = ('{"workflow": "orders", "version": 1, "step": {"kind": "filter"}, '
                '"event": {{ toJson .Input }}}')
    body = json.loads(construct_payload([_param(None, data_template=template)], EVENTS, NOW))
    assert body["step"] == {"kind": "filter"} and body["version"] == 1
    assert set(body["event"]) == {"topic", "key", "partition", "body", "timestamp", "headers"}


_NAMES = {"dataKey": "data_key", "dataTemplate": "data_template", "useRawData": "use_raw_data",
          "contextKey": "context_key"}


def _params_of(manifest_params):
    """Manifest payload parameters (camelCase, as the renderer writes them) as Params."""
    return [_param(p["dest"] or None, **{_NAMES.get(k, k): v for k, v in p["src"].items() if k != "dependencyName"})
            for p in manifest_params]


def test_the_dead_letter_is_the_contracts_fields_in_order():
    body = construct_payload(_params_of(factory.dead_letter_payload("dep", "paid-only", "gave up")), EVENTS, NOW)
    assert body == (b'{"step":"paid-only","reason":"gave up","payload":{"id":"o1","amount":12.5,"n":3,'
                    b'"tags":["a"]},"topic":"orders","key":"o1","partition":"1","id":"es:orders:kafka:9092:orders:1:7",'
                    b'"at":"1795255200000"}')


def test_the_step_invocation_is_values_the_event_id_and_the_event_data_bytes():
    # Argo (pkg/sensors/triggers/params.go): value and contextKey resolve to strings, sjson writes
    # them as JSON strings; dataKey "@this" is the event data (gjson Raw), spliced raw.
    body = construct_payload(_params_of(factory.step_payload("dep", "orders", 4, {"kind": "filter"})), EVENTS, NOW)
    assert body == (b'{"workflow":"orders","version":"4","step":"{\\"kind\\":\\"filter\\"}",'
                    b'"id":"es:orders:kafka:9092:orders:1:7","event":' + EVENT.data_text().encode() + b'}')


def test_this_without_raw_data_is_the_event_data_as_a_string():
    assert _payload(_param("e", data_key="@this")) == {"e": EVENT.data_text()}


def test_a_step_invocation_and_its_dead_letter_leave_the_body_undecoded():
    """Argo passes a jsonBody value on as a json.RawMessage (kafka/start.go): the renderer's
    parameters (@this, body, topic, key, partition, the id, a template without .Input) read it as
    text. Decoding a 500-record batch was most of the runner's CPU per record, so it must not
    happen for them (the private sentinel is the only witness: the payloads are equal either way)."""
    doc = factory.sensor("s", "es", "orders", "fn", dlq_topic="dlq")
    trigger = parse_sensor(Node("s.yaml", "", doc)).triggers[0]
    event = kafka_event(event_source="es", event_name="orders", url="kafka:9092", topic="orders", partition=1,
                        offset=7, key=b"o1", value=b'{"records": [{"key": "o1", "value": {"n": 1}}]}',
                        timestamp_ms=1795255200123, headers=[], now=NOW)
    call = json.loads(construct_payload(trigger.action.payload, {"in": event}, NOW))
    letter = json.loads(construct_payload(trigger.dlq.action.payload, {"in": event}, NOW))
    assert event._data is events._UNDECODED
    assert call["event"]["body"] == letter["payload"] == {"records": [{"key": "o1", "value": {"n": 1}}]}
    assert (letter["topic"], letter["key"], letter["partition"]) == ("orders", "o1", "1")
