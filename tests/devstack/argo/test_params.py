"""Payload construction: string vs raw, value fallback, empty dest, templates, whole events."""
import base64
import json
from datetime import datetime, timezone

import pytest

from devstack.argo import gjson, gotemplate
from devstack.argo.events import kafka_event
from devstack.argo.params import Param, ParamSource, PayloadError, construct_payload, resolve

NOW = datetime(2026, 11, 21, 10, 0, tzinfo=timezone.utc)
EVENT = kafka_event(event_source="es", event_name="orders", url="kafka:9092", topic="orders",
                    partition=1, offset=7, key=b"o1", value=b'{"id":"o1","amount":12.5,"n":3,"tags":["a"]}',
                    timestamp_ms=1795255200123, headers=[("etl-source", b"api")], json_body=True, now=NOW)
EVENTS = {"dep": EVENT}


def _param(dest, **src):
    for name in ("data_key", "context_key"):
        if name in src:
            src[name] = gjson.parse_get_path(src[name])
    for name in ("data_template", "context_template"):
        if name in src:
            src[name] = gotemplate.parse(src[name])
    return Param(ParamSource(src.pop("dependency", "dep"), **src), gjson.parse_set_path(dest) if dest else None)


def _payload(*params):
    return json.loads(construct_payload(params, EVENTS, NOW))


@pytest.mark.parametrize("src, raw, expected", [
    ({"data_key": "body.n"}, False, "3"),
    ({"data_key": "body.n"}, True, 3),
    ({"data_key": "body.tags"}, False, '["a"]'),
    ({"data_key": "body.tags"}, True, ["a"]),
    ({"data_key": "body.id"}, True, "o1"),
    ({"value": "3"}, True, "3"),
    ({"data_key": "body.zz", "value": "fallback"}, True, "fallback"),
    ({"data_template": "{{ .Input.body.n }}"}, True, "3"),
    ({"data_template": "{{ .Input.zz }}", "data_key": "body.id"}, False, "o1"),
    ({"context_key": "subject"}, False, "orders"),
    ({"context_key": "subject", "data_key": "key"}, False, "o1"),
], ids=["number-as-string", "number-raw", "array-as-string", "array-raw", "string-stays-string-raw",
        "value-is-always-string", "missing-key-falls-back-to-value", "template-text-is-string",
        "no-value-template-falls-back-to-key", "context-key", "data-key-wins-over-context"])
def test_value_at_dest_is_string_unless_raw_and_not_string(src, raw, expected):
    assert _payload(_param("x", use_raw_data=raw, **src)) == {"x": expected}


def test_empty_dest_makes_the_value_the_whole_payload_and_ignores_earlier_params():
    body = construct_payload([_param("a", value="1"), _param(None, data_key="body")], EVENTS, NOW)
    assert body == b'{"id":"o1","amount":12.5,"n":3,"tags":["a"]}'


def test_no_selector_and_no_value_is_the_whole_event():
    body = construct_payload([_param(None)], EVENTS, NOW)
    whole = json.loads(body)
    assert whole["context"]["id"] == "es:orders:kafka:9092:orders:1:7"
    assert json.loads(base64.b64decode(whole["data"]))["body"]["amount"] == 12.5


def test_unresolvable_key_without_value_fails_the_attempt():
    with pytest.raises(PayloadError, match="unable to resolve 'dep'"):
        construct_payload([_param("x", data_key="body.zz")], EVENTS, NOW)


def test_parameter_of_a_dependency_without_event_uses_value_or_is_skipped():
    params = [_param("a", dependency="other", value="v"), _param("b", dependency="other"), _param("c", value="c")]
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
