"""Schema evolution rules: can data valid under one version be read under another?

The core is :func:`reader_problems`: could a *reader* holding schema R accept every record a
*writer* holding schema W produces? The directions of the Confluent schema registry follow:

* ``BACKWARD``: a consumer on the new version reads data written with the old one
  (reader = new, writer = old). Refuses a newly required field, a narrowed type or enum,
  a tightened bound.
* ``FORWARD``: a consumer still on the old version reads data written with the new one
  (reader = old, writer = new). Refuses a removed (or no longer required) required field and
  a widened type.
* ``FULL``: both. **The default here**, because in a streaming pipeline both happen at once:
  the ingest function validates producers against the newest version while steps, the
  warehouse table and its readers were configured against older ones. It refuses exactly the
  changes the issue names: a removed required field, a newly required one, a changed type;
  adding an optional field is allowed.
* ``*_TRANSITIVE``: against every earlier version, not only the latest. ``NONE``: no check.

What is compared, per object, recursively (with local ``$ref``s resolved): ``type`` (integer is
a number), ``required``, ``properties``, ``additionalProperties: false``, ``enum``/``const``,
``items``, numeric/length/size bounds and ``pattern``. Any other keyword (``anyOf``, ``if``...)
is not reasoned about: changing it is refused as unverifiable, keeping it is fine.

One deliberate leniency, as users expect: a writer is assumed not to emit fields its schema
does not declare, so adding an optional field, or closing the schema
(``additionalProperties: false``) over the declared ones, stays compatible.
"""
from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from ..outrecord import compact_json_text
from .problems import FieldProblem, shown_json

LEVELS = ("BACKWARD", "BACKWARD_TRANSITIVE", "FORWARD", "FORWARD_TRANSITIVE", "FULL",
          "FULL_TRANSITIVE", "NONE")
DEFAULT_LEVEL = "FULL"

_ALL_TYPES = frozenset({"null", "boolean", "object", "array", "number", "integer", "string"})
_LOWER_BOUNDS = ("minimum", "exclusiveMinimum", "minLength", "minItems", "minProperties")
_UPPER_BOUNDS = ("maximum", "exclusiveMaximum", "maxLength", "maxItems", "maxProperties")
_UNDERSTOOD = frozenset({
    "type", "properties", "required", "additionalProperties", "items", "enum", "const", "pattern",
    "multipleOf", *_LOWER_BOUNDS, *_UPPER_BOUNDS, "$ref", "$defs", "definitions", "$schema", "$id",
    "$comment", "title", "description", "default", "examples", "format", "deprecated",
    "readOnly", "writeOnly"})
MAX_DEPTH = 64  # nested schemas (and $ref hops) followed before giving up on a path


def problems_for_level(level: str, new: Any, earlier: list[Any]) -> list[FieldProblem]:
    """What ``level`` refuses in registering ``new`` after ``earlier`` versions (oldest first)."""
    if level not in LEVELS:
        raise ValueError(f"compatibility: must be one of {', '.join(LEVELS)}")
    if level == "NONE" or not earlier:
        return []
    against = earlier if level.endswith("_TRANSITIVE") else earlier[-1:]
    found: set[FieldProblem] = set()
    for old in against:
        if level.startswith(("BACKWARD", "FULL")):
            found.update(reader_problems(new, old, backward=True))
        if level.startswith(("FORWARD", "FULL")):
            found.update(reader_problems(old, new, backward=False))
    return sorted(found)


def reader_problems(reader: Any, writer: Any, *, backward: bool = True) -> list[FieldProblem]:
    """Why a reader holding ``reader`` may refuse data written under ``writer`` (empty: none).

    ``backward`` only orients the wording: True when the reader holds the *new* version.
    """
    return sorted(set(_Check(reader, writer, backward).node(reader, writer, "", 0)))


class _Check:
    def __init__(self, reader_root: Any, writer_root: Any, backward: bool) -> None:
        self.roots = (reader_root, writer_root)
        self.backward = backward
        # Pairs of (resolved) schemas being compared further up: a recursive schema ("$ref": "#")
        # meets the same pair again, and assuming it compatible there ends the recursion.
        self.open: set[tuple[int, int]] = set()

    def old_new(self, reader_value: Any, writer_value: Any) -> tuple[Any, Any]:
        return (writer_value, reader_value) if self.backward else (reader_value, writer_value)

    def node(self, reader: Any, writer: Any, path: str, depth: int) -> list[FieldProblem]:
        if depth > MAX_DEPTH:
            return [FieldProblem(path, f"nested deeper than {MAX_DEPTH} levels; not verified")]
        reader, writer = _resolve(reader, self.roots[0]), _resolve(writer, self.roots[1])
        if isinstance(reader, list) or isinstance(writer, list):  # tuple-form "items"
            if _canonical(reader) == _canonical(writer):
                return []
            return [FieldProblem(path, "tuple items changed; this registry cannot verify such "
                                          "a change, so it is refused")]
        if reader is True or reader == {} or writer is False:
            return []
        pair = (id(reader), id(writer))
        if pair in self.open:
            return []
        self.open.add(pair)
        try:
            return self._compare(reader, writer, path, depth)
        finally:
            self.open.discard(pair)

    def _compare(self, reader: Any, writer: Any, path: str, depth: int) -> list[FieldProblem]:
        if reader is False or not isinstance(reader, Mapping):
            return [FieldProblem(path, "the reading version refuses every value here")]
        if writer is True:
            writer = {}
        found = self.types(reader, writer, path)
        found += self.values(reader, writer, path)
        found += self.bounds(reader, writer, path)
        found += self.unverifiable(reader, writer, path)
        if "object" in _types(reader) and "object" in _types(writer):
            found += self.objects(reader, writer, path, depth)
        if "array" in _types(reader) and "array" in _types(writer):
            found += self.node(reader.get("items", True), writer.get("items", True),
                               f"{path}[]", depth + 1)
        return found

    def types(self, reader: Mapping, writer: Mapping, path: str) -> list[FieldProblem]:
        readable, written = _types(reader), _types(writer)
        lost = {t for t in written if t not in readable and not (t == "integer" and "number" in readable)}
        if not lost:
            return []
        old, new = self.old_new(readable, written)
        return [FieldProblem(path, f"type changed from {_type_text(old)} to {_type_text(new)}")]

    def values(self, reader: Mapping, writer: Mapping, path: str) -> list[FieldProblem]:
        allowed, written = _values(reader), _values(writer)
        if allowed is None:
            return []
        if written is None:
            old, new = self.old_new(allowed, written)
            return [FieldProblem(path, f"allowed values changed from {_values_text(old)} to "
                                          f"{_values_text(new)}")]
        allowed_text = {_canonical(v) for v in allowed}
        refused = [v for v in written if _canonical(v) not in allowed_text]
        if not refused:
            return []
        change = "no longer allowed" if self.backward else "new, and refused by the old version"
        return [FieldProblem(path, f"values {_values_text(refused)} {change}")]

    def bounds(self, reader: Mapping, writer: Mapping, path: str) -> list[FieldProblem]:
        found = []
        for key in (*_LOWER_BOUNDS, *_UPPER_BOUNDS):
            limit, written = reader.get(key), writer.get(key)
            if limit is None or not isinstance(limit, (int, float)):
                continue
            lower = key in _LOWER_BOUNDS
            tighter = written is None or (limit > written if lower else limit < written)
            if tighter:
                old, new = self.old_new(limit, written)
                found.append(FieldProblem(path, f"{key} changed from {_bound_text(old)} to "
                                                   f"{_bound_text(new)}"))
        for key in ("pattern", "multipleOf"):
            if key in reader and reader.get(key) != writer.get(key):
                old, new = self.old_new(reader.get(key), writer.get(key))
                found.append(FieldProblem(path, f"{key} changed from {_bound_text(old)} to "
                                                   f"{_bound_text(new)}"))
        return found

    def unverifiable(self, reader: Mapping, writer: Mapping, path: str) -> list[FieldProblem]:
        found = []
        for key in sorted(set(reader) | set(writer), key=str):
            if key in _UNDERSTOOD or _canonical(reader.get(key)) == _canonical(writer.get(key)):
                continue
            found.append(FieldProblem(path, f"'{key}' changed; this registry cannot verify "
                                               f"such a change, so it is refused"))
        return found

    def objects(self, reader: Mapping, writer: Mapping, path: str, depth: int) -> list[FieldProblem]:
        found = []
        r_props, w_props = _mapping(reader.get("properties")), _mapping(writer.get("properties"))
        r_required, w_required = set(_list(reader.get("required"))), set(_list(writer.get("required")))
        for name in sorted(r_required - w_required):
            rule = ("newly required: records written with the old version may not have it"
                    if self.backward else
                    "required field removed or made optional: readers on the old version need it")
            found.append(FieldProblem(_join(path, name), rule))
        closed = reader.get("additionalProperties", True)
        for name in sorted(w_props):
            child = _join(path, name)
            if name in r_props:
                found += self.node(r_props[name], w_props[name], child, depth + 1)
            elif closed is False:
                rule = ("removed, and the new version refuses unknown fields" if self.backward else
                        "added, and the old version refuses unknown fields")
                found.append(FieldProblem(child, rule))
            elif isinstance(closed, Mapping):
                found += self.node(closed, w_props[name], child, depth + 1)
        return found


def _resolve(schema: Any, root: Any) -> Any:
    """Follow local ``$ref``s (``#/$defs/x``) to the schema they name; others stay as they are."""
    for _ in range(MAX_DEPTH):
        ref = schema.get("$ref") if isinstance(schema, Mapping) else None
        if not isinstance(ref, str) or not ref.startswith("#"):
            return schema
        target: Any = root
        for part in [p for p in ref[1:].split("/") if p]:
            part = part.replace("~1", "/").replace("~0", "~")
            target = target.get(part) if isinstance(target, Mapping) else None
        if target is None:
            return schema
        siblings = {k: v for k, v in schema.items() if k != "$ref"}
        schema = {**target, **siblings} if isinstance(target, Mapping) and siblings else target
    return schema


def _types(schema: Mapping) -> frozenset[str]:
    declared = schema.get("type")
    if declared is None:
        values = _values(schema)
        if values is None:
            return _ALL_TYPES
        return frozenset(_json_type(v) for v in values)
    names = frozenset([declared] if isinstance(declared, str) else declared)
    return names | {"integer"} if "number" in names else names


def _json_type(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int):
        return "integer"
    return {float: "number", str: "string", list: "array", dict: "object"}.get(type(value), "object")


def _values(schema: Mapping) -> list[Any] | None:
    if "const" in schema:
        return [schema["const"]]
    enum = schema.get("enum")
    return list(enum) if isinstance(enum, list) else None


def _type_text(types: frozenset[str]) -> str:
    if types == _ALL_TYPES:
        return "any type"
    shown = sorted(t for t in types if not (t == "integer" and "number" in types))
    return " or ".join(shown)


def _values_text(values: list[Any] | None) -> str:
    if values is None:
        return "any value"
    text = shown_json(values)
    return text if len(text) <= 80 else text[:77] + "..."


def _bound_text(value: Any) -> str:
    return "none" if value is None else shown_json(value)


def _canonical(value: Any) -> str:
    return compact_json_text(value, sort_keys=True)  # a Decimal (etlkit.http) with its digits


def _mapping(value: Any) -> Mapping[str, Any]:
    return value if isinstance(value, Mapping) else {}


def _list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else []


def _join(path: str, name: str) -> str:
    return f"{path}.{name}" if path else name
