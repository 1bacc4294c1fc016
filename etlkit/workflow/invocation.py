"""What a Sensor posts to a function, built once and used twice: by the renderer and by the local runner.

The "Step invocation" contract (docs/contracts.md) wants a JSON body whose ``step`` is an object
and ``version`` a number. Argo Events builds HTTP and Kafka trigger bodies in
``pkg/sensors/triggers/params.go`` (argoproj/argo-events, ``ConstructPayload``/``ResolveParamValue``):

* a payload parameter whose ``src`` has only ``value`` resolves to that text as a *string* type,
  and ``sjson.SetBytes`` stores it as a JSON string: ``"step": "{\\"kind\\": ...}"``, never an
  object, and ``"version": "3"``, never a number; ``useRawData`` is honoured only for values found
  by ``dataKey`` (non-string gjson types), not for ``value`` or templates;
* a parameter with an empty ``dest`` returns its resolved value as the *whole* body, unchanged;
  one whose dependency has no event in this round resolves to nothing and is skipped, so a
  Sensor with several inputs (``conditions: a || b``) carries one such parameter per input;
* the Kafka trigger (``pkg/sensors/triggers/kafka/kafka.go``, ``Execute``) builds its message
  with the same ``ConstructPayload``, but the controller (``pkg/reconciler/sensor/validate.go``,
  ``validateTriggerParameter``) refuses an empty ``dest`` for every trigger but HTTP. So the
  dead-letter record is built field by field (:func:`dead_letter_parameters`): ``dataKey`` with
  ``useRawData`` keeps the record itself as JSON, ``value`` gives the fixed texts, and ``at``, a
  template's output, can only be text: epoch milliseconds as decimal text, like the
  ``etl-event-time`` header (the message's own Kafka timestamp is that time too).

So each trigger has one payload parameter with ``dest: ""`` and a ``dataTemplate`` (a Go
text/template with sprig, evaluated with ``.Input`` = the event data): the static part of the
envelope is JSON text and the event is spliced in by ``{{ toJson .Input }}``. That gives exactly
the contract's shape. Two consequences worth knowing: Go decodes event numbers as float64, so an
integer above 2**53 in a record loses precision on this path; and ``{{`` must never appear in the
static text (it would start a template action), so :func:`data_template` escapes it.
"""
from __future__ import annotations

import json
from typing import Any, Mapping, Sequence

EVENT_ACTION = "{{ toJson .Input }}"
_MISSING = object()


def envelope(
    workflow: str,
    version: int,
    role: str,
    spec: Mapping[str, Any],
    *,
    event: Any = _MISSING,
    events: Sequence[Any] | None = None,
) -> dict[str, Any]:
    """The body a function receives: ``{"workflow", "version", <role>: spec, "event" | "events"}``.

    ``role`` is ``"step"`` for steps and the sink (the contract's name), ``"source"`` for a ticked
    source and ``"scaling"`` for the autoscaler. Give ``event`` (per-event mode, what Argo sends)
    or ``events`` (batch mode, what the local runner sends), not both.
    """
    if (event is _MISSING) == (events is None):
        raise ValueError("give exactly one of event (per-event mode) or events (batch mode)")
    body: dict[str, Any] = {"workflow": workflow, "version": version, role: dict(spec)}
    if events is None:
        body["event"] = event
    else:
        body["events"] = list(events)
    return body


def _static_json(value: Mapping[str, Any]) -> str:
    """JSON text of ``value`` that is safe as literal Go-template text.

    ASCII only (non-ASCII as ``\\uXXXX``, which any JSON reader decodes), so the text can sit in a
    single-quoted YAML scalar. JSON has no ``{{`` outside strings (an object opens with ``{"`` or
    ``{}``), so every ``{{`` is inside a string, where ``\\u007b`` is the same character.
    """
    return json.dumps(value, ensure_ascii=True).replace("{{", "{\\u007b")


def data_template(workflow: str, version: int, role: str, spec: Mapping[str, Any]) -> str:
    """The Sensor ``dataTemplate`` producing :func:`envelope` in per-event mode."""
    head = _static_json({"workflow": workflow, "version": version, role: dict(spec)})
    return f'{head[:-1]}, "event": {EVENT_ACTION}}}'


def dead_letter_parameters(dependency: str, step: str, reason: str) -> list[dict[str, Any]]:
    """Kafka trigger payload parameters writing the contract's dead letter for one dependency's event.

    ``{"step", "reason", "payload" (the record, as JSON), "topic", "key", "at"}``; ``at`` is the
    time the Sensor gave up, epoch milliseconds as text (see the module notes for why text).
    """

    def src(**fields: Any) -> dict[str, Any]:
        return {"dependencyName": dependency, **fields}

    return [
        {"src": src(value=step), "dest": "step"},
        {"src": src(value=reason), "dest": "reason"},
        {"src": src(dataKey="body", useRawData=True), "dest": "payload"},
        {"src": src(dataKey="topic"), "dest": "topic"},
        {"src": src(dataKey="key"), "dest": "key"},
        {"src": src(dataTemplate="{{ (now).UnixMilli }}"), "dest": "at"},
    ]


def expand_data_template(template: str, data: Any) -> str:
    """Evaluate a :func:`data_template` the way the Sensor does: splice the event data in.

    Only the one action this module writes is understood; any other ``{{`` raises ``ValueError``
    rather than guess (the local runner's emulator, ``devstack.argo.gotemplate``, runs the two actions we emit).
    """
    head, action, tail = template.partition(EVENT_ACTION)
    if not action or "{{" in head + tail:
        raise ValueError("not a template made by data_template: expected exactly one {{ toJson .Input }}")
    return head + json.dumps(data, ensure_ascii=False) + tail
