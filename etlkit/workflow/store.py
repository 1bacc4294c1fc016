"""The Configs service core: versioned create/read/update/delete of workflows over a narrow store.

Every change appends a version; nothing is ever overwritten. A deletion is a version too (a
marker without a document), so history survives it and a later create continues the numbering.
Updates and deletions name the version they expect to replace: a stale one is refused
(:class:`StaleVersion`), so two editors never silently overwrite each other.

Persistence hides behind :class:`WorkflowStore` (four methods; :mod:`.db_store` keeps it in the
state database). The store itself enforces "append only version latest+1" atomically, so the check holds
across processes, not only within this object.
"""
from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Callable, Protocol

from .errors import FieldError, WorkflowInvalid
from .model import Workflow
from .parse import parse_workflow
from .step_hooks import StepValidator


@dataclass(frozen=True)
class VersionRecord:
    """One version of one workflow; ``document is None`` marks the workflow deleted at this version."""

    name: str
    version: int
    document: str | None
    created_at_ms: int

    @property
    def deleted(self) -> bool:
        return self.document is None


class WorkflowNotFound(LookupError):
    """No such workflow (or version), or the workflow is deleted."""


class WorkflowExists(ValueError):
    """``create`` for a name that is live already: update it instead."""


class StaleVersion(ValueError):
    """The caller's ``expected`` version is not the latest one (``actual``): re-read, then retry."""

    def __init__(self, name: str, expected: int, actual: int) -> None:
        super().__init__(f"workflow {name!r}: expected version {expected}, but the latest is {actual}")
        self.name = name
        self.expected = expected
        self.actual = actual


class WorkflowStore(Protocol):
    """Where versions are kept. Implementations must make :meth:`append` a compare-and-set."""

    def append(self, record: VersionRecord) -> None:
        """Add ``record`` if its version is exactly the latest + 1 (1 for a new name), else raise :class:`StaleVersion`."""
        ...

    def read(self, name: str, version: int | None = None) -> VersionRecord:
        """The given version, or the latest (deletion markers included); :class:`WorkflowNotFound` if none."""
        ...

    def history(self, name: str) -> list[VersionRecord]:
        """Every version of ``name``, oldest first; empty if the name was never used."""
        ...

    def names(self) -> list[str]:
        """Every name ever stored (deleted ones too), sorted."""
        ...


@dataclass(frozen=True)
class StoredWorkflow:
    """A live version: the document as submitted (comments kept) and where it sits in history."""

    name: str
    version: int
    document: str
    created_at_ms: int

    def workflow(self, validator: StepValidator | None = None) -> Workflow:
        """The parsed definition (validated again: step rules may have changed since it was stored)."""
        return parse_workflow(self.document, validator=validator)


def wall_clock_ms() -> int:
    """Now, in epoch milliseconds: the default clock of :class:`WorkflowConfigs`."""
    return time.time_ns() // 1_000_000


def _stored(record: VersionRecord) -> StoredWorkflow:
    if record.document is None:
        raise WorkflowNotFound(f"workflow {record.name!r} version {record.version} is a deletion")
    return StoredWorkflow(record.name, record.version, record.document, record.created_at_ms)


class WorkflowConfigs:
    """Versioned CRUD of workflow definitions; every document is validated before it is stored."""

    def __init__(
        self,
        store: WorkflowStore,
        *,
        clock: Callable[[], int] = wall_clock_ms,
        validator: StepValidator | None = None,
    ) -> None:
        self._store = store
        self._clock = clock
        self._validator = validator

    def _latest(self, name: str) -> VersionRecord | None:
        try:
            return self._store.read(name)
        except WorkflowNotFound:
            return None

    def _append(self, name: str, version: int, document: str | None) -> VersionRecord:
        record = VersionRecord(name, version, document, self._clock())
        self._store.append(record)
        return record

    def create(self, document: str) -> StoredWorkflow:
        """Store a new workflow as version 1 (or, after a deletion, the next version of its history).

        Raise :class:`WorkflowInvalid` for a bad document and :class:`WorkflowExists` if live.
        """
        name = parse_workflow(document, validator=self._validator).name
        latest = self._latest(name)
        if latest is not None and not latest.deleted:
            raise WorkflowExists(f"workflow {name!r} exists (version {latest.version}): update it instead")
        try:
            return _stored(self._append(name, (latest.version if latest else 0) + 1, document))
        except StaleVersion as exc:  # another writer created it between our read and our append
            raise WorkflowExists(f"workflow {name!r} was just created by another writer (version {exc.actual})") from exc

    def get(self, name: str, version: int | None = None) -> StoredWorkflow:
        """The latest live version, or the given one (readable after a deletion: history is kept)."""
        record = self._store.read(name, version)
        if version is None and record.deleted:
            raise WorkflowNotFound(f"workflow {name!r} was deleted at version {record.version}")
        return _stored(record)

    def update(self, name: str, document: str, expected_version: int) -> StoredWorkflow:
        """Append ``document`` as the version after ``expected_version``, which must be the latest."""
        workflow = parse_workflow(document, validator=self._validator)
        if workflow.name != name:
            raise WorkflowInvalid(
                [FieldError("name", f"is {workflow.name!r} but this is workflow {name!r}; a workflow cannot be renamed")]
            )
        latest = self.get(name)
        if latest.version != expected_version:
            raise StaleVersion(name, expected_version, latest.version)
        return _stored(self._append(name, expected_version + 1, document))

    def delete(self, name: str, expected_version: int) -> VersionRecord:
        """Mark ``name`` deleted as the version after ``expected_version``; its history stays readable."""
        latest = self.get(name)
        if latest.version != expected_version:
            raise StaleVersion(name, expected_version, latest.version)
        return self._append(name, expected_version + 1, None)

    def history(self, name: str) -> list[VersionRecord]:
        """Every version, deletions included, oldest first."""
        records = self._store.history(name)
        if not records:
            raise WorkflowNotFound(f"no workflow {name!r}")
        return records

    def list(self) -> list[StoredWorkflow]:
        """The latest version of every live workflow, by name."""
        latest = (self._store.read(name) for name in self._store.names())
        return [_stored(record) for record in latest if not record.deleted]
