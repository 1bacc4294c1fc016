"""The schema-registry role: JSON Schema versions per subject (topic), evolution checks, and
record validation against the current version.

>>> from etlkit.schemas import InMemorySchemaStore
>>> registry = SchemaRegistry(InMemorySchemaStore())
>>> registry.register("orders", {"type": "object", "properties": {"id": {"type": "string"}},
...                              "required": ["id"]})
1
>>> registry.validate("orders", {"id": 7})
[FieldProblem(path='id', rule='expected type string, got integer')]
>>> registry.register("orders", {"type": "object", "properties": {"id": {"type": "integer"}},
...                              "required": ["id"]})
Traceback (most recent call last):
...
etlkit.schemas.registry.IncompatibleSchema: orders: not FULL compatible with version 1: id: type changed from string to integer
"""
from __future__ import annotations

import copy
import re
from typing import Any, Mapping

from ..outrecord import compact_json_text
from .compatibility import DEFAULT_LEVEL, LEVELS, problems_for_level
from .problems import FieldProblem
from .store import SchemaStore, VersionConflict
from .validation import RecordValidator, SchemaInvalid, check_schema

SUBJECT = re.compile(r"[A-Za-z0-9._-]{1,249}")  # a Kafka topic name
_ATTEMPTS = 5  # conditional appends lost to concurrent registrations before giving up


class UnknownSubject(KeyError):
    """No such subject, or no such version of it."""

    def __str__(self) -> str:
        return str(self.args[0])


class IncompatibleSchema(ValueError):
    """Registering would break readers or writers; ``problems`` name each field and rule."""

    def __init__(self, subject: str, level: str, version: int, problems: list[FieldProblem]) -> None:
        listed = "; ".join(str(p) for p in problems)
        super().__init__(f"{subject}: not {level} compatible with version {version}: {listed}")
        self.subject, self.level, self.problems = subject, level, problems


class SchemaRegistry:
    """Subjects' schema versions from a :class:`~.store.SchemaStore`, with a compatibility level
    per subject (``compatibility`` by default, see :mod:`.compatibility` for the levels)."""

    def __init__(self, store: SchemaStore, *, compatibility: str = DEFAULT_LEVEL,
                 subject_levels: Mapping[str, str] | None = None) -> None:
        for level in [compatibility, *(subject_levels or {}).values()]:
            if level not in LEVELS:
                raise ValueError(f"compatibility: must be one of {', '.join(LEVELS)}, got {level!r}")
        self._store = store
        self._default_level = compatibility
        self._levels = dict(subject_levels or {})
        self._subjects: dict[str, list[Any]] | None = None
        self._validators: dict[tuple[str, int], RecordValidator] = {}

    # -- reading ---------------------------------------------------------------------------
    def refresh(self) -> None:
        """Forget the cached versions: the next read loads the store again (other replicas)."""
        self._subjects = None

    def _loaded(self) -> dict[str, list[Any]]:
        if self._subjects is None:
            self._subjects = {name: list(versions) for name, versions in self._store.load().items()}
        return self._subjects

    def subjects(self) -> list[str]:
        """Subjects with at least one version, sorted."""
        return sorted(name for name, versions in self._loaded().items() if versions)

    def versions(self, subject: str) -> list[int]:
        """The version numbers of ``subject`` (1, 2, ...); empty if it has none."""
        return list(range(1, len(self._loaded().get(subject, ())) + 1))

    def level(self, subject: str) -> str:
        return self._levels.get(subject, self._default_level)

    def schema(self, subject: str, version: int | None = None) -> Any:
        """A copy of version ``version`` of ``subject`` (the latest when None)."""
        versions = self._loaded().get(subject) or []
        if not versions:
            raise UnknownSubject(f"{subject}: no schema registered")
        number = len(versions) if version is None else version
        if not 1 <= number <= len(versions):
            raise UnknownSubject(f"{subject}: no version {version} (versions 1-{len(versions)})")
        return copy.deepcopy(versions[number - 1])

    # -- evolving --------------------------------------------------------------------------
    def check(self, subject: str, schema: Any) -> list[FieldProblem]:
        """What registering ``schema`` would break (empty: it may be registered)."""
        check_schema(schema)
        return problems_for_level(self.level(subject), schema, self._loaded().get(subject, []))

    def register(self, subject: str, schema: Any) -> int:
        """Add ``schema`` as the next version of ``subject`` and return its number.

        Registering the latest schema again returns its version (idempotent). Raises
        :class:`~.validation.SchemaInvalid` for an invalid schema or subject name and
        :class:`IncompatibleSchema` when the subject's compatibility level refuses it.
        """
        if not isinstance(subject, str) or not SUBJECT.fullmatch(subject):
            raise SchemaInvalid("subject: must be a topic name (letters, digits, '.', '_', '-')")
        check_schema(schema)
        for _ in range(_ATTEMPTS):
            self.refresh()  # decide against what the store holds now, not a cached view
            versions = self._loaded().get(subject, [])
            if versions and _canonical(versions[-1]) == _canonical(schema):
                return len(versions)
            problems = problems_for_level(self.level(subject), schema, versions)
            if problems:
                raise IncompatibleSchema(subject, self.level(subject), len(versions), problems)
            try:
                self._store.append(subject, len(versions) + 1, copy.deepcopy(schema))
            except VersionConflict:
                continue  # another replica registered first: check against its version too
            self.refresh()
            return len(versions) + 1
        raise VersionConflict(f"{subject}: {_ATTEMPTS} concurrent registrations won over this one")

    # -- validating ------------------------------------------------------------------------
    def validator(self, subject: str, version: int | None = None) -> RecordValidator:
        """The compiled validator of a version (the latest when None), built once."""
        number = len(self._loaded().get(subject) or []) if version is None else version
        key = (subject, number)
        if key not in self._validators:
            self._validators[key] = RecordValidator(self.schema(subject, number or None))
        return self._validators[key]

    def validate(self, subject: str, record: Any, version: int | None = None) -> list[FieldProblem]:
        """Why ``record`` does not match the subject's schema (empty: it does)."""
        return self.validator(subject, version).problems(record)


def _canonical(schema: Any) -> str:
    return compact_json_text(schema, sort_keys=True)  # a Decimal (etlkit.http) with its digits
