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
    assert json.loads(invocation.expand_data_template(template, event, 0)) == invocation.envelope(
        "w", 4, "step", spec, event=event
    )


@pytest.mark.parametrize(
    "template",
    ['{"a": {{ .Input.body }}}', '{"a": {{ toJson .Input | upper }}}', '{"a": {{ now }}}'],
    ids=["field-without-toJson", "pipeline", "bare-now"],
)
def test_expansion_refuses_actions_it_does_not_know(template):
    with pytest.raises(ValueError, match="does not evaluate"):
        invocation.expand_data_template(template, {}, 0)


def test_dead_letter_of_a_missing_field_is_null():
    template = invocation.dead_letter_template("s", "why")

    record = json.loads(invocation.expand_data_template(template, {"topic": "t"}, now_ms=5))

    assert record == {"step": "s", "reason": "why", "payload": None, "topic": "t", "key": None, "at": 5}
