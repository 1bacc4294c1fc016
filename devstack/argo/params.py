"""Trigger payloads built as Argo builds them (``pkg/sensors/triggers/params.go``), for the
parameters the renderer emits (:mod:`.sensor_spec` refuses the rest).

For each ``payload`` parameter, :func:`resolve` finds a value for ``src`` in the event of
``src.dependencyName``, from exactly one source:

* ``value``: that text, as a String;
* ``contextKey: id``: the event's ID (``json.Marshal`` of the EventContext, read by gjson: the
  text as it is), as a String; the one context key we emit (:mod:`.sensor_spec` refuses others);
* ``dataTemplate``: the template's text (:mod:`.gotemplate`), unless it prints nothing;
* ``dataKey``: a gjson path over the event data; JSON blocks and null come back as raw JSON,
  strings, numbers and booleans as their text, each with gjson's type; ``@this`` is the whole
  event data, its exact bytes (numbers keep their text: no float64 on this path);
* else (a key that finds nothing, a template that prints nothing): an error, a failed attempt.

:func:`construct_payload` then lays the values out: an empty ``dest`` (an HTTP trigger's one
parameter) makes the value the whole payload; otherwise a non-String value with ``useRawData``
is written at ``dest`` as JSON, anything else as a JSON *string* (so a number from ``value`` is
``"3"``, not ``3``), each ``dest`` a key of one object, in order, as sjson writes it. A
parameter whose dependency has no event and no ``value`` is skipped. Pure: the current time
comes in as ``now``.
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime
from typing import Mapping, Sequence

from . import gjson, gojson
from .events import Event
from .gotemplate import Template

STRING = "String"


class PayloadError(ValueError):
    """A parameter could not be resolved: Argo counts that as a failed trigger attempt."""


@dataclass(frozen=True)
class ParamSource:
    dependency: str
    data_key: gjson.GetPath | None = None
    data_template: Template | None = None
    value: str | None = None
    use_raw_data: bool = False
    context_key: str | None = None  # "id", the one we emit


@dataclass(frozen=True)
class Param:
    src: ParamSource
    dest: str | None  # a key of the payload object; None: the value is the whole payload


@dataclass(frozen=True)
class Resolved:
    text: str
    kind: str  # gjson's type name; String for values and templates


def resolve(src: ParamSource, events: Mapping[str, Event], now: datetime) -> Resolved | None:
    """The value of one parameter source, None when its dependency has no event and no value."""
    event = events.get(src.dependency)
    if src.value is not None:
        return Resolved(src.value, STRING)
    if event is None:
        return None
    if src.context_key is not None:
        return Resolved(event.context.id, STRING)
    if src.data_template is not None:
        # .Input only when the template prints it: a dead letter's "at" leaves the body undecoded.
        template = src.data_template
        text = template.execute(event.data if template.reads_input else None, now)
        if text not in ("", "<no value>"):
            return Resolved(text, STRING)
    elif src.data_key is not None:
        found = event.get(src.data_key)
        if found is not None:
            kind = found.kind
            return Resolved(found.raw() if kind in ("JSON", "Null") else found.string(), kind)
    raise PayloadError(f"unable to resolve '{src.dependency}' parameter value")


def construct_payload(params: Sequence[Param], events: Mapping[str, Event], now: datetime) -> bytes:
    """The request body of an HTTP or Kafka trigger; empty when no parameter gave anything."""
    fields: list[str] = []
    for param in params:
        resolved = resolve(param.src, events, now)
        if resolved is None:
            continue
        if param.dest is None:
            return resolved.text.encode("utf-8", "surrogateescape")  # invalid UTF-8 as it came
        if resolved.kind != STRING and param.src.use_raw_data:
            value = resolved.text
        else:
            value = _sjson_string(resolved.text)
        fields.append(f"{_sjson_string(param.dest)}:{value}")
    return ("{" + ",".join(fields) + "}").encode("utf-8", "surrogateescape") if fields else b""


_SJSON_AS_IS = re.compile(r'[ !#-\[\]-\x7f]*')  # bytes 0x20-0x7f but " and \


def _sjson_string(text: str) -> str:
    """How sjson writes a string (``appendStringify``): printable ASCII as is (so ``<`` stays),
    anything else through ``json.Marshal`` (escaped, HTML characters too)."""
    if _SJSON_AS_IS.fullmatch(text):
        return f'"{text}"'
    return gojson.dumps(text)
