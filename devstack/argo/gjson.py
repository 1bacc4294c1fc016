"""gjson paths: how Argo reads a value out of an event (a parameter's ``dataKey``).

Argo Events resolves it with tidwall/gjson (``getValueByKey`` in
``pkg/sensors/triggers/params.go``). The paths the renderer writes are plain: dotted keys of
letters, digits, ``_`` and ``-`` (``body``, ``topic``, ``key``, ``body.items.0.sku``), a number
also indexing an array, and ``@this`` alone: gjson's modifier (``modThis`` in gjson v1.19's
gjson.go) whose result is the whole document parsed, so its ``Raw`` is the event data's exact
text (a step invocation's ``event``). :func:`parse_get_path` refuses any other (wildcards, ``#``,
other ``@`` modifiers or a path after one, queries, pipes, escapes) *at load time*. The runner works on decoded JSON
(Python values); the event's text (:class:`Source`) is read for what gjson reads off the text
itself: an object's or array's raw text, and paths through duplicate keys.
"""
from __future__ import annotations

import json
import re
from dataclasses import dataclass
from json.decoder import scanstring
from typing import Any, Callable, NamedTuple

from . import gojson
from .yamlnode import unsupported

PATH = re.compile(r"[A-Za-z0-9_-]+(?:\.[A-Za-z0-9_-]+)*")
THIS = "@this"  # the one modifier: the whole document
# A Result's value when only its text is known: an object or array the runner did not decode,
# since the parameter reading it takes its raw text (:meth:`devstack.argo.events.Event.get`).
UNDECODED = object()


class PathError(ValueError):
    """A path this runner does not evaluate; the message says why."""


@dataclass(frozen=True)
class GetPath:
    """A parsed gjson path; ``text`` is what the manifest said."""

    text: str
    parts: tuple[str, ...]


def parse_get_path(text: str) -> GetPath:
    """A path; ``@this`` has no parts (the whole value)."""
    if text == THIS:
        return GetPath(text, ())
    if isinstance(text, str) and text.startswith("@"):
        raise PathError(f"path {text!r}: {unsupported('the modifier @this alone (no other modifier, nothing after it)')}")
    if not isinstance(text, str) or not PATH.fullmatch(text):
        raise PathError(f"path {text!r}: {unsupported('dotted keys of letters, digits, _ and -, or @this')}")
    return GetPath(text, tuple(text.split(".")))


@dataclass(frozen=True)
class Result:
    """What gjson found: the decoded value with gjson's type and conversions (or
    :data:`UNDECODED`, of type JSON, with its ``text``).

    ``text``: the value's JSON text as it stands in the event data, when known (gjson's ``Raw``
    of an object or array is that text, not a re-encoding: number spellings, escapes and
    duplicate keys stay as they came).
    """

    value: Any
    text: str | None = None

    @property
    def kind(self) -> str:
        """gjson's type name: Null, False, True, Number, String or JSON."""
        v = self.value
        if v is None:
            return "Null"
        if v is True:
            return "True"
        if v is False:
            return "False"
        if isinstance(v, (int, float)):
            return "Number"
        if isinstance(v, str):
            return "String"
        return "JSON"

    def raw(self) -> str:
        """The value's JSON text (gjson ``Raw``)."""
        return self.text if self.text is not None else gojson.dumps(self.value)

    def string(self) -> str:
        """gjson ``String()``: text as is, numbers without exponent, JSON as raw, null empty."""
        kind = self.kind
        if kind == "Null":
            return ""
        if kind in ("True", "False"):
            return kind.lower()
        if kind == "Number":
            return str(self.value) if isinstance(self.value, int) else gojson.float_text(self.value)
        if kind == "String":
            return self.value
        return self.raw()


_MISSING = object()


def _step(value: Any, key: str) -> Any:
    if isinstance(value, dict):
        return value.get(key, _MISSING)
    if isinstance(value, list) and key.isdigit():
        index = int(key)
        return value[index] if index < len(value) else _MISSING
    return _MISSING


def _walk(value: Any, parts: tuple[str, ...]) -> Any:
    for part in parts:
        value = _step(value, part)
        if value is _MISSING:
            return _MISSING
    return value


class Source(NamedTuple):
    """The JSON text a decoded value came from, for what gjson reads off the text itself."""

    text: Callable[[], str]  # the compact text
    decode: Callable[[str], Any]  # a value's text decoded as the value was
    duplicate_keys: bool = False  # some object has a key twice: a path may go through any of them


def get(value: Any, path: GetPath, source: Source | None = None) -> Result | None:
    """The value at ``path`` inside ``value`` (decoded JSON), or None when it does not exist.

    With the ``source`` text, an object or array found carries its raw text
    (:attr:`Result.text`), and where ``value`` had duplicate keys (decoded: the first of each) a
    path the first ones do not lead through is searched through the others, as gjson does.
    ``@this`` (no parts) is ``value`` itself, with the whole text as its raw text.
    """
    if not path.parts:
        return Result(value, source.text() if source is not None and isinstance(value, (dict, list)) else None)
    found = _walk(value, path.parts)
    if found is _MISSING:
        if source is None or not source.duplicate_keys:
            return None
        raw = raw_at(source.text(), path)
        return None if raw is None else Result(source.decode(raw), raw)
    if source is not None and isinstance(found, (dict, list)):
        return Result(found, raw_at(source.text(), path))
    return Result(found)


_DECODER = json.JSONDecoder()


def _value_end(text: str, start: int) -> int:
    return _DECODER.raw_decode(text, start)[1]


def raw_at(text: str, path: GetPath) -> str | None:
    """The text of the value at ``path`` in compact JSON ``text`` as gjson finds it, or None.

    gjson's search: the first key that matches the last part wins; where more parts follow, each
    key that matches is tried in turn (a duplicate key after one the rest does not resolve in)."""
    return _raw_at(text, 0, path.parts)


def _raw_at(text: str, start: int, parts: tuple[str, ...]) -> str | None:
    part, rest = parts[0], parts[1:]
    i = start + 1
    if text[start] == "{":
        while text[i] != "}":
            key, i = scanstring(text, i + 1)
            value_start = i + 1  # past the ':'
            value_end = _value_end(text, value_start)
            if key == part:
                if not rest:
                    return text[value_start:value_end]
                if text[value_start] in "{[":
                    found = _raw_at(text, value_start, rest)
                    if found is not None:
                        return found
            i = value_end + (text[value_end] == ",")
    elif text[start] == "[" and part.isdigit():
        index, n = int(part), 0
        while text[i] != "]":
            value_end = _value_end(text, i)
            if n == index:
                if not rest:
                    return text[i:value_end]
                return _raw_at(text, i, rest) if text[i] in "{[" else None
            n, i = n + 1, value_end + (text[value_end] == ",")
    return None
