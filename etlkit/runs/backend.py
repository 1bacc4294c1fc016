"""Where a run's documents go, where its counters come from: the narrow interfaces, and the
plain data that crosses them.

A :class:`RunBackend` is three methods: make a workflow's applied documents exactly a given
set, delete its wiring, and list what is applied (with what the platform reports about it).
Two implementations: :mod:`.local_backend` (a folder the local reconciler of
``devstack.argo.supervisor`` watches: the embedded default) and :mod:`.kubernetes_backend`
(Argo Events and Strimzi custom objects through the Kubernetes API). A test double is a dict.

A :class:`RecordReader` is one method: the steps' record counters (:mod:`.counters`).
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal, Mapping, Protocol, Sequence

from .documents import RunDocument, applied_version, started_at

State = Literal["running", "starting", "failed", "stopping", "stopped"]


class ApplyFailed(RuntimeError):
    """The platform refused or did not answer; ``document`` (``Kind/name``) is where it stopped."""

    def __init__(self, document: str, reason: str) -> None:
        self.document, self.reason = document, reason
        super().__init__(f"{document}: {reason}")


@dataclass(frozen=True)
class Runtime:
    """What the platform reports about running the applied documents.

    ``sensors``: per Sensor, its counters (events in, triggered, dead-lettered, ...) where the
    platform keeps them (the local runner does); ``skipped``: Sensors applied but not run, each
    with the reason.
    """

    state: State
    reason: str = ""
    sensors: Mapping[str, Mapping[str, int]] = field(default_factory=dict)
    skipped: tuple[tuple[str, str], ...] = ()


@dataclass(frozen=True)
class AppliedRun:
    """A workflow's applied wiring (EventSources and Sensors) and its runtime state.

    ``documents`` may be empty while the runtime still winds down (state ``stopping``).
    """

    workflow: str
    documents: tuple[RunDocument, ...]
    runtime: Runtime

    @property
    def version(self) -> int | None:
        return applied_version(self.documents)

    @property
    def started_at(self) -> str | None:
        return started_at(self.documents)


class RunBackend(Protocol):
    def apply(self, workflow: str, documents: Sequence[RunDocument]) -> None:
        """Make ``workflow``'s applied documents exactly ``documents``: create the missing ones,
        replace the changed ones, delete its EventSources and Sensors that are not listed.
        KafkaTopics are only ever created or grown, never deleted. :class:`ApplyFailed` names
        the document it stopped at; what was done before it stays (the caller undoes it)."""

    def delete(self, workflow: str) -> tuple[str, ...]:
        """Remove ``workflow``'s EventSources and Sensors (never its topics); the ``Kind/name``
        of each removed, sorted. Nothing applied: nothing removed, no error."""

    def applied(self, workflow: str | None = None) -> dict[str, AppliedRun]:
        """What is applied, per workflow (``workflow``: that one only, if it is)."""


StepRecords = dict[str, dict[str, float]]  # step -> counter kind ("in", "out", ...) -> total


class RecordReader(Protocol):
    def records(self, workflow: str) -> StepRecords:
        """Per step of ``workflow``, the totals of each record counter (EdgeError if unreadable)."""
