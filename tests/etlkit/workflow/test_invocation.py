"""The invocation envelope and the Go-template payloads that carry it through Argo Events."""
from __future__ import annotations

import json

import pytest

from etlkit.workflow import invocation


def test_envelope_per_event_and_batch_modes():
    spec = {"kind": "map", "name": "tidy"}

    assert invocation.envelope("w", 2, "step", spec, event={"key": "a"}) == {
        "workflow": "w", "version": 2, "step": spec, "event": {"key": "a"}
    }
    assert invocation.envelope("w", 2, "step", spec, events=[{"key": "a"}, {"key": "b"}])["events"] == [
        {"key": "a"}, {"key": "b"}
    ]


@pytest.mark.parametrize("kwargs", [{}, {"event": {}, "events": []}], ids=["neither", "both"])
def test_envelope_needs_exactly_one_mode(kwargs):
    with pytest.raises(ValueError, match="exactly one of event"):
        invocation.envelope("w", 1, "step", {}, **kwargs)


def test_data_template_is_the_envelope_once_expanded():
    spec = {"kind": "filter", "condition": "s == '{{x}}' or t == '{{{'", "params": {"note": "caf\u00e9 \U0001F600"}}
    template = invocation.data_template("w", 4, "step", spec)
    event = {"topic": "t", "key": None, "body": {"big": 2**53, "pi": 3.25}}

    assert template.count("{{") == 1 and template.isascii()
    assert json.loads(invocation.expand_data_template(template, event)) == invocation.envelope(
        "w", 4, "step", spec, event=event
    )


@pytest.mark.parametrize(
    "template",
    ['{"a": {{ .Input.body }}}', '{"a": {{ toJson .Input }}, "b": {{ toJson .Input }}}', '{"a": 1}'],
    ids=["other-action", "two-actions", "no-action"],
)
def test_expansion_refuses_templates_it_did_not_make(template):
    with pytest.raises(ValueError, match="not a template made by data_template"):
        invocation.expand_data_template(template, {})


def test_dead_letter_parameters_name_one_dependency_and_every_contract_field():
    parameters = invocation.dead_letter_parameters("t", "s", "why")

    assert {p["src"]["dependencyName"] for p in parameters} == {"t"}
    assert [p["dest"] for p in parameters] == ["step", "reason", "payload", "topic", "key", "at"]
    assert parameters[2]["src"] == {"dependencyName": "t", "dataKey": "body", "useRawData": True}
