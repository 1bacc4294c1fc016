"""Template rendering with hostile values: values stay data, never become template code.

The renderer (sandboxed jinja2) puts workflow values into manifests; a Sensor's dataTemplate
(Go text/template, run by Argo or by the local runner's emulator) then splices each event into
the step spec. Whatever a condition or a derivation holds (quotes, ``{{ }}``, ``{% %}``, line
breaks), the function must receive exactly the spec that was written, and every manifest must
still be valid YAML. The Go-template emulator itself takes any text without crashing: it parses
the two actions the renderer writes, and refuses any other by name.
"""
import json
from datetime import datetime, timezone

import yaml
from hypothesis import given
from hypothesis import strategies as st

from devstack.argo import gotemplate
from devstack.argo.events import Event, EventContext
from devstack.argo.params import construct_payload
from devstack.argo.sensor_spec import parse_sensor
from devstack.argo.yamlnode import Node
from devstack.chaos.workflow import DataPath
from etlkit.workflow import WorkflowInvalid
from etlkit.workflow.parse import parse_workflow
from etlkit.workflow.render import render_workflow

from .budget import bounded, fuzz
from .strategies import hostile_text, json_values

NOW = datetime(2026, 1, 2, 3, 4, 5, tzinfo=timezone.utc)
EVENT = {"topic": "t", "key": "k", "partition": 0, "body": {"id": "k", "n": 1},
         "timestamp": "2026-01-02T03:04:05Z", "headers": {}}


def _quoted(text):
    return "'" + text.replace("\\", "\\\\").replace("'", "\\'") + "'"


def _workflow(condition_text, derive_text, description):
    doc = DataPath("tpl").definition()
    doc["description"] = description
    doc["steps"].insert(0, {"name": "keep", "kind": "filter", "output": "tpl-kept",
                            "condition": f"number(n) > 0 and id != {_quoted(condition_text)}"})
    doc["steps"][1]["output"] = "tpl-mapped"
    doc["steps"][1]["params"] = {"derive": {"n2": "n * 2", "tag": f"concat(id, {_quoted(derive_text)})"}}
    doc["topics"]["tpl-kept"] = {"partitions": 1}
    return doc


def _bodies(files):
    """Per Sensor, the body its HTTP trigger posts for EVENT, built by the local runner's payload
    code (checked against Argo's own by tests/devstack/argo/test_conformance.py); a step's ``step``
    arrives as JSON text and is read back here."""
    out = {}
    for f in files:
        docs = list(yaml.safe_load_all(f.text))  # every manifest is valid YAML
        for doc in docs:
            if not isinstance(doc, dict) or doc.get("kind") != "Sensor":
                continue
            sensor = parse_sensor(Node(f.path if hasattr(f, "path") else "sensor.yaml", "", doc))
            events = {d.name: Event(EventContext(id="es:e:host:t:0:0", source=d.event_source, type="kafka",
                                                 subject=d.event_name, time=NOW), EVENT)
                      for d in sensor.dependencies}
            for trigger in sensor.triggers:
                body = json.loads(construct_payload(trigger.action.payload, events, NOW))
                if isinstance(body.get("step"), str):
                    body["step"] = json.loads(body["step"])
                out[doc["metadata"]["name"]] = body
    return out


@fuzz(0.5)  # a render is ~25 ms: fewer examples, the same reach per `make fuzz`
@given(hostile_text, hostile_text, hostile_text)
def test_the_function_receives_exactly_the_spec_that_was_written(condition_text, derive_text, description):
    doc = _workflow(condition_text, derive_text, description)
    with bounded():
        try:
            workflow = parse_workflow(doc)
        except WorkflowInvalid as exc:
            assert all(e.path and e.rule for e in exc.errors)
            return
        bodies = _bodies(render_workflow(workflow, 1))
    keep, double = bodies["tpl-keep"]["step"], bodies["tpl-double"]["step"]
    assert keep["condition"] == doc["steps"][0]["condition"]
    assert double["params"]["derive"] == doc["steps"][1]["params"]["derive"]
    assert bodies["tpl-sink"]["event"] == EVENT


@fuzz(2)
@given(st.text(max_size=120) | st.lists(st.sampled_from(
    ["{{", "}}", "{{-", "-}}", " ", ".Input", ".Input.body.id", "toJson", "toRawJson", "|", "(",
     ")", "now", ".UnixMilli", "quote", "default", "\"x\"", "`raw`", "/*", "*/", "if", "range",
     "printf", "b64dec", "upper", "nil", "1", "true", "$x"]), max_size=25).map("".join),
       json_values)
def test_the_go_template_emulator_parses_the_two_actions_or_refuses(source, data):
    with bounded():
        try:
            template = gotemplate.parse(source)
        except gotemplate.TemplateError:
            return
        assert all(isinstance(p, str) or p in gotemplate.ACTIONS for p in template.pieces)
        assert isinstance(template.execute(data, NOW), str)  # the two actions never fail
