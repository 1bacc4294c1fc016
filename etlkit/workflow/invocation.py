"""What a Sensor posts to a function: the trigger payload parameters the renderer writes.

Argo Events builds HTTP and Kafka trigger bodies in ``pkg/sensors/triggers/params.go``
(argoproj/argo-events v1.9.11, ``ConstructPayload``/``ResolveParamValue``/``getValueByKey``):

* a parameter whose ``src`` has only ``value`` resolves to that text as a *string* and
  ``sjson.SetBytes`` stores it as a JSON string: ``"version": "3"``, ``"step": "{\\"kind\\": ...}"``
  (the step function decodes both, see ``etlkit.stepfn.parse_invocation``);
* ``contextKey: id`` reads the CloudEvent context, whose ``id`` is the Kafka EventSource's
  ``genUniqueID`` (``pkg/eventsources/sources/kafka/start.go``):
  ``<eventsource>:<event>:<first broker>:<topic>:<partition>:<offset>``;
* ``dataKey`` is a gjson path into the event data (gjson v1.19, which has the ``@this``
  modifier: the whole document). A result of a JSON type (an object) with ``useRawData`` is
  spliced by ``sjson.SetRawBytes``: the event data's own bytes, so every number keeps the digits
  its producer wrote. ``{{ toJson .Input }}`` would not: ``.Input`` is ``gjson ... .Value()``,
  where every number is a float64 (12345678901234567 came out as 12345678901234568).

So a step's body is built field by field (:func:`step_parameters`), exactly the "Step
invocation" of docs/contracts.md. The dead-letter Kafka trigger is built the same way
(:func:`dead_letter_parameters`); there the controller (``pkg/reconciler/sensor/validate.go``,
``validateTriggerParameter``) refuses an empty ``dest`` anyway.

Calendar ticks (a ticked source, the autoscaler) keep one parameter with an empty ``dest`` and a
Go ``dataTemplate`` (:func:`data_template`): the static envelope as JSON text with the tick's
data spliced in by ``{{ toJson .Input }}``. A tick's data is ``{"eventTime": ...}``, no number
to lose, and the functions read ``source``/``scaling`` there as objects. ``{{`` must never appear
in the static text (it would start a template action), so :func:`data_template` escapes it.
"""
from __future__ import annotations

import json
from typing import Any, Mapping

EVENT_ACTION = "{{ toJson .Input }}"


def spec_text(spec: Mapping[str, Any]) -> str:
    """A step spec as the compact JSON text a ``value`` parameter carries, in the spec's own key
    order (the model builds it in a fixed order, so a render is deterministic)."""
    return json.dumps(dict(spec), ensure_ascii=False, separators=(",", ":"))


def step_parameters(dependency: str, workflow: str, version: int, spec: Mapping[str, Any]) -> list[dict[str, Any]]:
    """HTTP trigger payload parameters posting the "Step invocation" for ``dependency``'s event.

    ``{"workflow", "version", "step", "id", "event"}``: the first three fixed texts of this
    workflow version, ``id`` the Argo event id, ``event`` the raw event data (see the module notes).
    """

    def src(**fields: Any) -> dict[str, Any]:
        return {"dependencyName": dependency, **fields}

    return [
        {"src": src(value=workflow), "dest": "workflow"},
        {"src": src(value=str(version)), "dest": "version"},
        {"src": src(value=spec_text(spec)), "dest": "step"},
        {"src": src(contextKey="id"), "dest": "id"},
        {"src": src(dataKey="@this", useRawData=True), "dest": "event"},
    ]


def dead_letter_parameters(dependency: str, step: str, reason: str) -> list[dict[str, Any]]:
    """Kafka trigger payload parameters writing the contract's dead letter for one dependency's event.

    ``{"step", "reason", "payload" (the message's value as JSON: a record or a whole batch),
    "topic", "partition", "key", "id" (the Argo event id), "at"}``: with the partition and the id
    a dead-lettered batch can be replayed to where it came from. ``at`` is the time the Sensor
    gave up, epoch milliseconds as text: a template's output is always a string.
    """

    def src(**fields: Any) -> dict[str, Any]:
        return {"dependencyName": dependency, **fields}

    return [
        {"src": src(value=step), "dest": "step"},
        {"src": src(value=reason), "dest": "reason"},
        {"src": src(dataKey="body", useRawData=True), "dest": "payload"},
        {"src": src(dataKey="topic"), "dest": "topic"},
        # A number (useRawData on a Number result), not the text getValueByKey would give.
        {"src": src(dataKey="partition", useRawData=True), "dest": "partition"},
        {"src": src(dataKey="key"), "dest": "key"},
        {"src": src(contextKey="id"), "dest": "id"},
        {"src": src(dataTemplate="{{ (now).UnixMilli }}"), "dest": "at"},
    ]


def _static_json(value: Mapping[str, Any]) -> str:
    """JSON text of ``value`` that is safe as literal Go-template text.

    ASCII only (non-ASCII as ``\\uXXXX``, which any JSON reader decodes), so the text can sit in a
    single-quoted YAML scalar. JSON has no ``{{`` outside strings (an object opens with ``{"`` or
    ``{}``), so every ``{{`` is inside a string, where ``\\u007b`` is the same character.
    """
    return json.dumps(value, ensure_ascii=True).replace("{{", "{\\u007b")


def data_template(workflow: str, version: int, role: str, spec: Mapping[str, Any]) -> str:
    """A tick Sensor's ``dataTemplate``: ``{"workflow", "version", <role>: spec, "event"}``.

    ``role`` is ``"source"`` for a ticked source and ``"scaling"`` for the autoscaler.
    """
    head = _static_json({"workflow": workflow, "version": version, role: dict(spec)})
    return f'{head[:-1]}, "event": {EVENT_ACTION}}}'


def expand_data_template(template: str, data: Any) -> str:
    """Evaluate a :func:`data_template` the way the Sensor does: splice the event data in.

    Only the one action this module writes is understood; any other ``{{`` raises ``ValueError``
    rather than guess (the local runner's emulator, ``devstack.argo.gotemplate``, runs the two actions we emit).
    """
    head, action, tail = template.partition(EVENT_ACTION)
    if not action or "{{" in head + tail:
        raise ValueError("not a template made by data_template: expected exactly one {{ toJson .Input }}")
    return head + json.dumps(data, ensure_ascii=False) + tail
