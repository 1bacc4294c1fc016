"""Trigger payloads built as Argo builds them (``pkg/sensors/triggers/params.go``).

For each ``payload`` parameter, :func:`resolve` finds a value for ``src`` in the event of
``src.dependencyName``:

* no ``dataKey``/``dataTemplate``/``contextKey``/``contextTemplate``: ``value`` when set, else
  the whole event as JSON (context plus base64 data), as a String;
* a template (data or context) is tried first: its text is the value unless it fails or prints
  nothing or ``<no value>``;
* then the key: a gjson path over the event data (or context); JSON blocks and null come back as
  raw JSON, strings, numbers and booleans as their text, each with gjson's type;
* then ``value``; else an error. ``dataKey``/``dataTemplate`` win over the context ones.

:func:`construct_payload` then lays the values out: an empty ``dest`` makes the value the whole
payload (immediately, ignoring parameters before it); otherwise a non-String value with
``useRawData`` is written at ``dest`` as JSON, anything else as a JSON *string* (so a number from
``value`` is ``"3"``, not ``3``). A parameter whose dependency has no event and no ``value`` is
skipped (Go would dereference nil there). Pure: the current time comes in as ``now``.
"""
from __future__ import annotations

import json
import re
from dataclasses import dataclass
from datetime import datetime
from typing import Mapping, Sequence

from . import gjson, gojson
from .events import Event
from .gotemplate import Template, TemplateError

STRING = "String"


class PayloadError(ValueError):
    """A parameter could not be resolved: Argo counts that as a failed trigger attempt."""


@dataclass(frozen=True)
class ParamSource:
    dependency: str
    data_key: gjson.GetPath | None = None
    data_template: Template | None = None
    context_key: gjson.GetPath | None = None
    context_template: Template | None = None
    value: str | None = None
    use_raw_data: bool = False

    @property
    def selects(self) -> bool:
        return any(x is not None for x in (self.data_key, self.data_template, self.context_key,
                                           self.context_template))


@dataclass(frozen=True)
class Param:
    src: ParamSource
    dest: gjson.SetPath | None  # None: the value is the whole payload


@dataclass(frozen=True)
class Resolved:
    text: str
    kind: str  # gjson's type name; String for values, templates and whole events


def resolve(src: ParamSource, events: Mapping[str, Event], now: datetime) -> Resolved | None:
    """The value of one parameter source, None when its dependency has no event and no value."""
    event = events.get(src.dependency)
    if event is None:
        return None if src.value is None else Resolved(src.value, STRING)
    if not src.selects:
        return Resolved(src.value if src.value is not None else event.whole_json(), STRING)
    key, template, doc = None, None, None
    if src.context_key is not None or src.context_template is not None:
        key, template, doc = src.context_key, src.context_template, event.context.as_json()
    if src.data_key is not None or src.data_template is not None:
        key, template, doc = src.data_key, src.data_template, event.data
    if template is not None:
        try:
            text = template.execute(doc, now)
            if text not in ("", "<no value>"):
                return Resolved(text, STRING)
        except TemplateError:
            pass  # Argo logs and falls back to the key, then the value
    if key is not None:
        found = gjson.get(doc, key, event.source() if doc is event.data else None)
        if found is not None:
            kind = found.kind
            return Resolved(found.raw() if kind in ("JSON", "Null") else found.string(), kind)
    if src.value is not None:
        return Resolved(src.value, STRING)
    raise PayloadError(f"unable to resolve '{src.dependency}' parameter value")


def construct_payload(params: Sequence[Param], events: Mapping[str, Event], now: datetime) -> bytes:
    """The request body of an HTTP or Kafka trigger; empty when no parameter gave anything."""
    doc = None
    for param in params:
        resolved = resolve(param.src, events, now)
        if param.dest is None:
            if resolved is not None:
                return resolved.text.encode("utf-8", "surrogateescape")  # invalid UTF-8 as it came
            continue
        if resolved is None:
            continue
        if resolved.kind != STRING and param.src.use_raw_data:
            value: str = RawJSON(resolved.text)
        else:
            value = resolved.text
        doc = gjson.set_value(_open_raw(doc, param.dest), param.dest, value)
    return b"" if doc is None else sjson_text(doc).encode("utf-8", "surrogateescape")


_SJSON_AS_IS = re.compile(r'[ !#-\[\]-\x7f]*')  # bytes 0x20-0x7f but " and \


class RawJSON(str):
    """JSON text ``sjson.SetRawBytes`` puts in the payload as it is (number spellings, escapes)."""


def _open_raw(doc, dest: gjson.SetPath):
    """``doc`` where ``dest`` leads into raw JSON text: that text decoded, so the value can be set
    inside it (sjson edits the text in place; an approximation for a case we never render)."""
    container, parts = doc, dest.parts[:-1]
    for i, part in enumerate(parts):
        child = container.get(part.text) if isinstance(container, dict) else (
            container[int(part.text)] if isinstance(container, list) and part.text.isdigit()
            and int(part.text) < len(container) else None)
        if isinstance(child, RawJSON):
            opened = json.loads(child, parse_float=RawJSON, parse_int=RawJSON)  # numbers as written
            if isinstance(container, dict):
                container[part.text] = opened
            else:
                container[int(part.text)] = opened
            child = opened
        container = child
    return doc


def _sjson_string(text: str) -> str:
    """How sjson writes a string (``appendStringify``): printable ASCII as is (so ``<`` stays),
    anything else through ``json.Marshal`` (escaped, HTML characters too)."""
    if _SJSON_AS_IS.fullmatch(text):
        return f'"{text}"'
    return gojson.dumps(text)


def sjson_text(value) -> str:
    """The text sjson builds for a payload of strings, raw JSON, nulls (array padding), objects
    and arrays: what ``ConstructPayload`` returns."""
    if isinstance(value, RawJSON):
        return str(value)
    if isinstance(value, str):
        return _sjson_string(value)
    if value is None:
        return "null"
    if value is True or value is False:
        return "true" if value else "false"
    if isinstance(value, dict):
        return "{" + ",".join(f"{_sjson_string(k)}:{sjson_text(v)}" for k, v in value.items()) + "}"
    return "[" + ",".join(sjson_text(v) for v in value) + "]"
