"""Argo Events documents against the official JSON schema, plus the strictness it lacks.

The schema (``../shared/schemas/argo-events-v1alpha1.schema.json``) declares ``properties`` but
never ``additionalProperties: false``, so a misspelt key (``consumerGroupe``) validates and is
silently ignored by the controller. :func:`unknown_fields` walks a document beside the schema and
reports every key the schema does not declare.
"""
from __future__ import annotations

import json
import pathlib
import re
from dataclasses import dataclass, field
from typing import Any, Iterator

import jsonschema

from .documents import Document
from .findings import UNKNOWN_FIELD, Finding, PathPart, at

DEFINITION_PREFIX = "io.argoproj.events.v1alpha1."
ARGO_KINDS = ("EventBus", "EventSource", "Sensor")
SCHEMA_RELATIVE_TO_REPO = pathlib.Path("..", "shared", "schemas",
                                       "argo-events-v1alpha1.schema.json")
_REQUIRED_MESSAGE = re.compile(r"^'(?P<name>.+)' is a required property$")


def default_schema_path(repo_root: pathlib.Path) -> pathlib.Path:
    """Where the shared schema sits beside a checkout."""
    return repo_root / SCHEMA_RELATIVE_TO_REPO


@dataclass
class ArgoSchema:
    """The loaded schema with one Draft 7 validator per kind (built on first use)."""

    definitions: dict[str, Any]
    _validators: dict[str, jsonschema.Draft7Validator] = field(default_factory=dict, repr=False)

    @classmethod
    def load(cls, path: pathlib.Path) -> "ArgoSchema":
        """Read the schema file; raises OSError when it is absent."""
        return cls(json.loads(path.read_text(encoding="utf-8"))["definitions"])

    def validator(self, kind: str) -> jsonschema.Draft7Validator:
        """A validator rooted at ``io.argoproj.events.v1alpha1.<kind>`` for precise error paths."""
        if kind not in self._validators:
            self._validators[kind] = jsonschema.Draft7Validator(
                {"$ref": f"#/definitions/{DEFINITION_PREFIX}{kind}",
                 "definitions": self.definitions})
        return self._validators[kind]

    def resolve(self, node: dict[str, Any]) -> dict[str, Any]:
        """Follow ``$ref`` links (all are local ``#/definitions/...``) to the schema they name."""
        while "$ref" in node:
            node = self.definitions[node["$ref"].rpartition("/")[2]]
        return node


def schema_findings(schema: ArgoSchema, doc: Document) -> Iterator[Finding]:
    """The JSON schema's own errors, one per problem; a missing property points at itself."""
    for error in schema.validator(doc.kind).iter_errors(doc.body):
        parts: list[PathPart] = list(error.absolute_path)
        rule = error.message
        missing = _REQUIRED_MESSAGE.match(error.message) if error.validator == "required" else None
        if missing:
            parts.append(missing["name"])
            rule = "is required"
        yield at(doc.file, doc.index, parts, f"schema: {rule}")


def unknown_fields(schema: ArgoSchema, doc: Document) -> Iterator[Finding]:
    """Every key the schema does not declare, with its path."""
    root = schema.definitions[DEFINITION_PREFIX + doc.kind]
    yield from _walk(schema, root, doc.body, [], doc)


def _walk(schema: ArgoSchema, node: dict[str, Any], value: Any, parts: list[PathPart],
          doc: Document) -> Iterator[Finding]:
    node = schema.resolve(node)
    if isinstance(value, dict):
        properties = node.get("properties")
        extra = node.get("additionalProperties")
        for key, item in value.items():
            if properties is not None and key in properties:
                yield from _walk(schema, properties[key], item, [*parts, key], doc)
            elif isinstance(extra, dict):
                yield from _walk(schema, extra, item, [*parts, key], doc)
            elif properties is not None and extra is not True:
                yield at(doc.file, doc.index, [*parts, key],
                         f"{UNKNOWN_FIELD} (not in the Argo Events schema)")
            # Neither: a free-form object (RawExtension, K8SResource), anything goes.
    elif isinstance(value, list) and isinstance(node.get("items"), dict):
        for position, item in enumerate(value):
            yield from _walk(schema, node["items"], item, [*parts, position], doc)
