"""The trigger payload parameters a Sensor builds a function's body from.

What Argo makes of them is checked with Argo's own code in
tests/devstack/manifests/test_payload_conformance.py; here, what the renderer writes.
"""
from __future__ import annotations

import json

import pytest

from etlkit.workflow import invocation


def test_step_parameters_build_the_contract_envelope_field_by_field():
    spec = {"kind": "filter", "name": "paid", "condition": "s == '{{x}}'", "params": {"note": "caf\u00e9"}}

    parameters = invocation.step_parameters("raw", "w", 4, spec)

    assert [p["dest"] for p in parameters] == ["workflow", "version", "step", "id", "event"]
    assert {p["src"]["dependencyName"] for p in parameters} == {"raw"}
    assert [p["src"] for p in parameters] == [
        {"dependencyName": "raw", "value": "w"},
        {"dependencyName": "raw", "value": "4"},
        {"dependencyName": "raw", "value": invocation.spec_text(spec)},
        {"dependencyName": "raw", "contextKey": "id"},
        # The event data's own bytes: numbers keep their digits (params.go, sjson.SetRawBytes).
        {"dependencyName": "raw", "dataKey": "@this", "useRawData": True},
    ]


def test_the_spec_text_is_compact_json_of_the_spec_in_its_order():
    spec = {"kind": "map", "name": "tidy", "params": {"rename": {"a b": "caf\u00e9"}}}

    text = invocation.spec_text(spec)

    assert text == '{"kind":"map","name":"tidy","params":{"rename":{"a b":"caf\u00e9"}}}'
    assert json.loads(text) == spec


def test_dead_letter_parameters_name_one_dependency_and_every_contract_field():
    parameters = invocation.dead_letter_parameters("t", "s", "why")

    assert {p["src"]["dependencyName"] for p in parameters} == {"t"}
    assert [p["dest"] for p in parameters] == ["step", "reason", "payload", "topic", "partition", "key", "id", "at"]
    by_dest = {p["dest"]: p["src"] for p in parameters}
    assert by_dest["payload"] == {"dependencyName": "t", "dataKey": "body", "useRawData": True}
    assert by_dest["partition"] == {"dependencyName": "t", "dataKey": "partition", "useRawData": True}
    assert by_dest["id"] == {"dependencyName": "t", "contextKey": "id"}


def test_tick_data_template_is_the_envelope_once_expanded():
    spec = {"kind": "sql", "name": "legacy", "params": {"note": "s == '{{x}}' or t == '{{{' caf\u00e9 \U0001F600"}}
    template = invocation.data_template("w", 4, "source", spec)
    event = {"eventTime": "2026-12-07 20:00:00 +0000 UTC"}

    assert template.count("{{") == 1 and template.isascii()
    assert json.loads(invocation.expand_data_template(template, event)) == {
        "workflow": "w", "version": 4, "source": spec, "event": event
    }


@pytest.mark.parametrize(
    "template",
    ['{"a": {{ .Input.body }}}', '{"a": {{ toJson .Input }}, "b": {{ toJson .Input }}}', '{"a": 1}'],
    ids=["other-action", "two-actions", "no-action"],
)
def test_expansion_refuses_templates_it_did_not_make(template):
    with pytest.raises(ValueError, match="not a template made by data_template"):
        invocation.expand_data_template(template, {})
