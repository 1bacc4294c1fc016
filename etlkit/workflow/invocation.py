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
  with the same ``ConstructPayload``: the dead-letter trigger uses the same pattern.

So each trigger has one payload parameter with ``dest: ""`` and a ``dataTemplate`` (a Go
text/template with sprig, evaluated with ``.Input`` = the event data): the static part of the
envelope is JSON text and the event is spliced in by ``{{ toJson .Input }}``. That gives exactly
the contract's shape. Two consequences worth knowing: Go decodes event numbers as float64, so an
integer above 2**53 in a record loses precision on this path; and ``{{`` must never appear in the
static text (it would start a template action), so :func:`data_template` escapes it.
"""
from __future__ import annotations

import json
import re
from typing import Any, Mapping, Sequence

EVENT_ACTION = "{{ toJson .Input }}"
# Actions the local runner can evaluate (see expand_data_template): the whole event, a field of it,
# and the current time in epoch milliseconds.
_ACTION = re.compile(r"\{\{\s*(?:toJson \.Input((?:\.[A-Za-z_][A-Za-z0-9_]*)*)|\(now\)\.UnixMilli)\s*\}\}")
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


def dead_letter_template(step: str, reason: str) -> str:
    """The dead-letter ``dataTemplate``: the contract's ``{"step", "reason", "payload", "topic", "key", "at"}``.

    ``payload`` is the record (the event's ``body``), ``at`` the time the Sensor gave up, in epoch
    milliseconds like the ``etl-event-time`` header.
    """
    head = _static_json({"step": step, "reason": reason})
    fields = ", ".join(f'"{name}": {{{{ toJson .Input.{src} }}}}' for name, src in
                       (("payload", "body"), ("topic", "topic"), ("key", "key")))
    return f'{head[:-1]}, {fields}, "at": {{{{ (now).UnixMilli }}}}}}'


def expand_data_template(template: str, data: Any, now_ms: int) -> str:
    """Evaluate a template made by this module the way the Sensor would, for the local runner.

    Only the actions this module writes are understood (``toJson .Input[.field...]`` and
    ``(now).UnixMilli``); any other ``{{`` raises ``ValueError`` rather than guess. A missing field
    is ``null``, as Go's template gives ``<nil>`` for an absent map key.
    """

    def action(match: re.Match[str]) -> str:
        if match.group(0).replace(" ", "") == "{{(now).UnixMilli}}":
            return str(now_ms)
        value = data
        for name in filter(None, (match.group(1) or "").split(".")):
            value = value.get(name) if isinstance(value, Mapping) else None
        return json.dumps(value, ensure_ascii=False)

    expanded = _ACTION.sub(action, template)
    if "{{" in _ACTION.sub("", template):
        raise ValueError("template holds an action the local runner does not evaluate")
    return expanded
