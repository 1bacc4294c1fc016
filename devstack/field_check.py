"""Step parameters against the fields their records have: a typo in a field name is an error
before anything runs, naming the field and the fields there are.

The fields of a topic come from its registered JSON Schema (``properties``, nested objects'
properties as dotted paths). They flow through the steps as each step's typed config says
(:func:`etlkit.steps.parse_step`, the same parse the functions run): a map renames, casts,
derives, selects and drops; an enrich adds its ``fields``; an aggregate outputs its window
fields, its groups and its results. A step whose input topic has a schema of its own starts
from that schema. Where no schema says what a topic holds, nothing downstream is checked (a
guess would refuse a valid workflow): the check only speaks where the fields are known.

Why a field the schema does not list is an error even when the schema allows more
(``additionalProperties``): a step reads a field by name, and a name no schema declares is
almost always a typo (issue 17: ``rename: {page_ulr: page}`` silently gave empty values).

Pure: the schemas are given (:mod:`devstack.schema_source` reads them).
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any, Iterable, Mapping

from etlkit.steps import parse_step
from etlkit.steps.windows import RESULT_FIELDS
from etlkit.workflow import FieldError, Workflow
from etlkit.workflow.model import thaw

Path = tuple[str, ...]
_INDEX = re.compile(r"\[-?\d+\]")


@dataclass(frozen=True)
class Fields:
    """The field paths a record has; a path with no declared children holds anything below it."""

    paths: frozenset[Path]

    @classmethod
    def of_schema(cls, schema: Any) -> "Fields | None":
        """The fields a JSON Schema declares; None when it declares none (an open object)."""
        found: set[Path] = set()
        _collect(schema, (), found)
        return cls(frozenset(found)) if found else None

    def knows(self, path: Path) -> bool:
        if path in self.paths:
            return True
        return any(path[:n] in self.paths and not self._has_children(path[:n])
                   for n in range(1, len(path)))

    def _has_children(self, path: Path) -> bool:
        return any(len(p) > len(path) and p[:len(path)] == path for p in self.paths)

    def without(self, path: Path) -> "Fields":
        return Fields(frozenset(p for p in self.paths if p[:len(path)] != path))

    def with_(self, path: Path) -> "Fields":
        return Fields(self.paths | {path[:n] for n in range(1, len(path) + 1)})

    def moved(self, source: Path, target: Path) -> "Fields":
        below = {target + p[len(source):] for p in self.paths if p[:len(source)] == source}
        return Fields(self.without(source).paths | below).with_(target)

    def listed(self) -> str:
        return ", ".join(sorted(".".join(p) for p in self.paths))


def _collect(schema: Any, prefix: Path, found: set[Path]) -> None:
    if not isinstance(schema, Mapping):
        return
    for name, sub in (schema.get("properties") or {}).items():
        found.add(prefix + (str(name),))
        _collect(sub, prefix + (str(name),), found)
    for key in ("allOf", "anyOf", "oneOf"):  # a composed schema: every branch's fields
        for sub in schema.get(key) or ():
            _collect(sub, prefix, found)


def expression_paths(fields: Iterable[str]) -> list[Path]:
    """The record-value paths an expression reads (``Expression.fields``), without metadata
    (``$key``) and list indexes (``items[0].sku`` reads ``items``)."""
    out = []
    for text in fields:
        if text.startswith("$"):
            continue
        text = _INDEX.split(text, 1)[0]
        if text:
            out.append(tuple(text.split(".")))
    return out


class _Check:
    def __init__(self) -> None:
        self.errors: list[FieldError] = []

    def need(self, known: Fields | None, path: Path, where: str) -> None:
        if known is not None and not known.knows(path):
            name = ".".join(path)
            self.errors.append(FieldError(where, f"unknown field {name!r} (known: {known.listed()})"))


def field_errors(workflow: Workflow, schemas: Mapping[str, Any]) -> list[FieldError]:
    """Every step parameter (and the sink key) naming a field its records do not have, given
    the JSON Schemas of some topics (``schemas``: topic -> schema)."""
    check = _Check()
    known = _topics_fields([s.topic for s in workflow.sources], schemas)
    for i, step in enumerate(workflow.steps):
        if step.inputs and all(t in schemas for t in step.inputs):
            known = _topics_fields(step.inputs, schemas)
        config = parse_step(step.kind, thaw(step.params) or None, step.condition, f"steps[{i}]")
        known = _STEPS[step.kind](check, known, config, f"steps[{i}]")
        if step.output in schemas:
            known = _topics_fields([step.output], schemas)
    check.need(known, (workflow.sink.key,), "sink.key")
    return check.errors


def _topics_fields(topics: Iterable[str], schemas: Mapping[str, Any]) -> Fields | None:
    """The fields records of these topics may have; None when a topic has no schema."""
    paths: set[Path] = set()
    for topic in dict.fromkeys(topics):
        fields = Fields.of_schema(schemas[topic]) if topic in schemas else None
        if fields is None:
            return None
        paths |= fields.paths
    return Fields(frozenset(paths))


def _filter(check: _Check, known: Fields | None, config: Any, where: str) -> Fields | None:
    for path in expression_paths(config.condition.fields):
        check.need(known, path, f"{where}.condition")
    return known


def _map(check: _Check, known: Fields | None, config: Any, where: str) -> Fields | None:
    """In the map's own order: rename, cast, derive, select, drop (etlkit/steps/mapping.py)."""
    params = f"{where}.params"
    after = known
    for source, target in config.rename:
        check.need(known, source, f"{params}.rename.{'.'.join(source)}")
        after = None if after is None else after.moved(source, target)
    for cast in config.cast:
        check.need(after, cast.path, f"{params}.cast.{'.'.join(cast.path)}")
    for derived in config.derive:
        for path in expression_paths(derived.expression.fields):
            check.need(after, path, f"{params}.derive.{'.'.join(derived.path)}")
        after = None if after is None else after.with_(derived.path)
    if config.select is not None:
        for n, path in enumerate(config.select):
            check.need(after, path, f"{params}.select[{n}]")
        kept: set[Path] = set()
        for path in config.select:
            kept |= {p for p in (after.paths if after else ()) if p[:len(path)] == path}
            kept |= {path[:k] for k in range(1, len(path) + 1)}
        after = None if after is None else Fields(frozenset(kept))
    for n, path in enumerate(config.drop):
        check.need(after, path, f"{params}.drop[{n}]")
        after = None if after is None else after.without(path)
    return after


def _enrich(check: _Check, known: Fields | None, config: Any, where: str) -> Fields | None:
    check.need(known, config.on, f"{where}.params.on")
    if known is None or config.fields is None:
        return None  # every column of a table read at run time: not known here
    if config.into is not None:
        return known.with_(config.into)
    out = known
    for column in config.fields:
        out = out.with_((config.prefix + column,))
    return out


def _aggregate(check: _Check, known: Fields | None, config: Any, where: str) -> Fields | None:
    params = f"{where}.params"
    for n, path in enumerate(config.group_by):
        check.need(known, path, f"{params}.group_by[{n}]")
    if config.time_field is not None:
        check.need(known, config.time_field, f"{params}.time_field")
    for agg in config.aggregations:
        if agg.field is not None:
            check.need(known, agg.field, f"{params}.aggregations.{agg.name}.{agg.op}")
    fields = Fields(frozenset({(name,) for name in RESULT_FIELDS} | {(a.name,) for a in config.aggregations}))
    for path in config.group_by:  # a result carries each group value at its path
        fields = fields.with_(path)
    return fields


_STEPS = {"filter": _filter, "map": _map, "enrich": _enrich, "aggregate": _aggregate}
