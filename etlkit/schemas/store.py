"""Where schema versions live: a two-method Protocol and an in-memory implementation.

A store keeps, per subject (a topic name), the list of schema versions, oldest first; version
``n`` is item ``n - 1``. ``append`` is conditional (optimistic concurrency): it names the version
it writes, and a store that already has that version refuses with :class:`VersionConflict`, so
two registry replicas registering at once can never both win. The state-database store is in
:mod:`.db_store`; a Kafka compacted-topic store would implement the same Protocol.
"""
from __future__ import annotations

import copy
from typing import Any, Mapping, Protocol, Sequence

Schema = Mapping[str, Any]


class VersionConflict(Exception):
    """Another writer appended first: reload and decide again."""


class SchemaStore(Protocol):
    def load(self) -> Mapping[str, Sequence[Schema]]:
        """Every subject's versions, oldest first."""
        ...

    def append(self, subject: str, version: int, schema: Schema) -> None:
        """Store ``schema`` as ``version`` of ``subject``; :class:`VersionConflict` unless
        ``version`` is exactly one more than the versions stored."""
        ...


def check_next_version(subjects: Mapping[str, Sequence[Schema]], subject: str, version: int) -> None:
    """The conditional part of ``append``, shared by the stores."""
    expected = len(subjects.get(subject, ())) + 1
    if version != expected:
        raise VersionConflict(f"{subject}: version {version} requested, the next is {expected}")


class InMemorySchemaStore:
    """A store in a dict (tests, and a single-process registry)."""

    def __init__(self, subjects: Mapping[str, Sequence[Schema]] | None = None) -> None:
        self._subjects: dict[str, list[Schema]] = {
            name: [copy.deepcopy(s) for s in versions] for name, versions in (subjects or {}).items()}

    def load(self) -> dict[str, list[Schema]]:
        return copy.deepcopy(self._subjects)

    def append(self, subject: str, version: int, schema: Schema) -> None:
        check_next_version(self._subjects, subject, version)
        self._subjects.setdefault(subject, []).append(copy.deepcopy(schema))
