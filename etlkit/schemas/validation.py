"""Validating records (and schemas) with jsonschema, errors as ``<field path>: <rule>``.

The schema's own ``$schema`` picks the draft; without one, Draft 2020-12. ``format`` is an
annotation, as 2020-12 specifies by default: a record is not refused for a ``date-time`` that
some optional format library would have parsed differently on another replica.
"""
from __future__ import annotations

import itertools
from collections.abc import Mapping
from typing import Any, Iterable

from jsonschema import Draft202012Validator
from jsonschema.exceptions import SchemaError, ValidationError
from jsonschema.validators import validator_for

from .problems import FieldProblem, shown_json

MAX_PROBLEMS = 20  # per record: enough to fix it, bounded for a hostile one
_JSON_TYPES = {type(None): "null", bool: "boolean", int: "integer", float: "number", str: "string",
               list: "array", dict: "object"}
_BOUNDS = {"minimum": ">= {}", "maximum": "<= {}", "exclusiveMinimum": "> {}",
           "exclusiveMaximum": "< {}", "minLength": "at least {} characters long",
           "maxLength": "at most {} characters long", "minItems": "at least {} items",
           "maxItems": "at most {} items", "minProperties": "at least {} fields",
           "maxProperties": "at most {} fields", "multipleOf": "a multiple of {}"}


class SchemaInvalid(ValueError):
    """A schema is not a valid JSON Schema (or cannot describe a record); names the path."""


def field_path(parts: Iterable[Any]) -> str:
    """``["a", 2, "b"]`` -> ``a[2].b``."""
    text = ""
    for part in parts:
        text += f"[{part}]" if isinstance(part, int) else (f".{part}" if text else str(part))
    return text


def check_schema(schema: Any) -> None:
    """Refuse a schema that is not valid JSON Schema or cannot accept a JSON object."""
    if not isinstance(schema, (Mapping, bool)):
        raise SchemaInvalid("schema: must be a JSON Schema object")
    cls = validator_for(schema, default=Draft202012Validator)
    try:
        cls.check_schema(schema)
    except SchemaError as exc:
        where = field_path(["schema", *exc.absolute_path])
        raise SchemaInvalid(f"{where}: {exc.message}") from None
    if schema is False or (isinstance(schema, Mapping) and not _may_be_object(schema.get("type"))):
        raise SchemaInvalid("schema.type: records are JSON objects; the schema must accept an object")


def _may_be_object(declared: Any) -> bool:
    return declared is None or declared == "object" or (isinstance(declared, list) and "object" in declared)


class RecordValidator:
    """A schema compiled once; :meth:`problems` lists why a record does not match it."""

    def __init__(self, schema: Mapping[str, Any] | bool) -> None:
        check_schema(schema)
        self.schema = schema
        self._validator = validator_for(schema, default=Draft202012Validator)(schema)

    def problems(self, record: Any, limit: int = MAX_PROBLEMS) -> list[FieldProblem]:
        """Up to ``limit`` problems, sorted by path; empty when the record is valid."""
        if self._validator.is_valid(record):
            return []
        found: set[FieldProblem] = set()
        for error in itertools.islice(self._validator.iter_errors(record), limit):
            found.update(_describe(error))
        return sorted(found)[:limit]

    def first_problem(self, record: Any) -> str | None:
        """The first problem as ``"<field>: <rule>"``, or None (the ingest function's hook)."""
        problems = self.problems(record, limit=MAX_PROBLEMS)
        return str(problems[0]) if problems else None


def _describe(error: ValidationError) -> list[FieldProblem]:
    where = list(error.absolute_path)
    keyword, expected, instance = error.validator, error.validator_value, error.instance
    if keyword == "required" and isinstance(instance, dict):
        return [FieldProblem(field_path([*where, name]), "required field is missing")
                for name in expected if name not in instance]
    if keyword == "additionalProperties" and isinstance(instance, dict):
        declared = error.schema.get("properties", {}) if isinstance(error.schema, Mapping) else {}
        patterns = error.schema.get("patternProperties", {}) if isinstance(error.schema, Mapping) else {}
        extra = [name for name in instance if name not in declared and not patterns]
        if extra:
            return [FieldProblem(field_path([*where, name]), "unexpected field (not in the schema)")
                    for name in extra]
    return [FieldProblem(field_path(where), _rule(keyword, expected, instance, error.message))]


def _rule(keyword: str, expected: Any, instance: Any, message: str) -> str:
    if keyword == "type":
        wanted = " or ".join(expected) if isinstance(expected, list) else expected
        return f"expected type {wanted}, got {_JSON_TYPES.get(type(instance), type(instance).__name__)}"
    if keyword == "enum":
        return f"must be one of {_short(expected)}"
    if keyword == "const":
        return f"must equal {_short(expected)}"
    if keyword == "pattern":
        return f"must match the pattern {expected!r}"
    if keyword in _BOUNDS:
        return f"must be {_BOUNDS[keyword].format(expected)} ({keyword})"
    return f"{keyword}: {message}"


def _short(value: Any) -> str:
    text = shown_json(value)
    return text if len(text) <= 80 else text[:77] + "..."
