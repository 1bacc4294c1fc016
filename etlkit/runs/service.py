"""The Runner service: start, stop and status of workflow runs, sequencing the edges.

:class:`Runs` reads a workflow's history from the Configs store, decides (:mod:`.decide`),
renders the chosen version, and applies it through a :class:`~.backend.RunBackend`. A start is
all or nothing: when the backend stops midway, what this start changed is undone (the documents
applied before it are applied again, or the wiring removed when nothing ran) and
:class:`RunFailed` says what failed and what was undone. Topics a start created stay: they are
data, and creating them again is a no-op.

A status gathers what the backend reports, the steps' record counters
(:class:`~.counters.RecordReader`) and the backlog of each step's consumer group
(:class:`~etlkit.controller.ports.OffsetReader`); an edge that does not answer leaves its part
empty and is named under ``errors``, the rest is still answered.
"""
from __future__ import annotations

import threading
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any, Callable

from ..controller.errors import EdgeError
from ..controller.ports import OffsetReader
from ..workflow.manifests import RenderSettings
from ..workflow.render import render_workflow
from ..workflow.store import WorkflowConfigs, WorkflowNotFound
from .backend import ApplyFailed, AppliedRun, RecordReader, RunBackend
from .decide import RunRefused, choose_version, decide_start, inputs, step_statuses
from .documents import parse_documents, stamp


def utc_now() -> str:
    return datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


class RunFailed(RuntimeError):
    """The backend failed midway; ``failed`` is the document and reason, ``undone`` what was done
    about the part already applied."""

    def __init__(self, workflow: str, failed: ApplyFailed, undone: str) -> None:
        self.workflow, self.failed, self.undone = workflow, failed, undone
        super().__init__(f"run of {workflow!r}: {failed}; {undone}")

    def to_dict(self) -> dict[str, str]:
        return {"error": f"{self.failed.document}: {self.failed.reason}", "undone": self.undone}


@dataclass(frozen=True)
class Edges:
    """What a status reads besides the backend; None: not measured here (said in ``errors``)."""

    records: RecordReader | None
    offsets: Callable[[], OffsetReader] | None  # opened per status, closed after


class Runs:
    """Start, stop, status and list of runs (the workflow-manager's Runner)."""

    def __init__(self, configs: WorkflowConfigs, backend: RunBackend, edges: Edges, *,
                 settings: RenderSettings = RenderSettings(), now: Callable[[], str] = utc_now) -> None:
        self.configs, self.backend, self.edges = configs, backend, edges
        self.settings, self.now = settings, now
        self._lock = threading.Lock()  # one start or stop at a time in this replica

    def _applied(self, name: str) -> AppliedRun | None:
        return self.backend.applied(name).get(name)

    def start(self, name: str, version: int | None = None) -> tuple[int, dict[str, Any]]:
        """Start (or move to) ``version`` (default: the latest); the HTTP status and the answer."""
        with self._lock:
            chosen = choose_version(name, self._history(name), version)
            current = self._applied(name)
            plan = decide_start(chosen.version, current)
            if plan.apply:
                stored = self.configs.get(name, chosen.version)
                rendered = render_workflow(stored.workflow(), stored.version, settings=self.settings)
                documents = stamp(parse_documents((str(f.path), f.text) for f in rendered),
                                  chosen.version, self.now())
                try:
                    self.backend.apply(name, documents)
                except ApplyFailed as exc:
                    raise RunFailed(name, exc, self._undo(name, current)) from exc
            state = self._applied(name)
            return plan.status, {"name": name, "version": chosen.version,
                                 "state": state.runtime.state if state else "starting", "reason": plan.reason}

    def _undo(self, name: str, before: AppliedRun | None) -> str:
        try:
            if before is not None and before.documents:
                self.backend.apply(name, before.documents)
                return f"restored what ran before (version {before.version})"
            removed = self.backend.delete(name)
            return "removed what this start applied: " + (", ".join(removed) or "nothing")
        except ApplyFailed as again:
            return f"undoing failed too ({again}): the run may be half applied, stop it"

    def stop(self, name: str) -> dict[str, Any]:
        """Remove the run's wiring; consumer groups keep their offsets, so a start resumes."""
        with self._lock:
            self._history(name)  # 404 for a name never stored; a deleted one may still be stopped
            removed = self.backend.delete(name)
        after = self._applied(name)
        return {"name": name, "state": after.runtime.state if after else "stopped", "removed": list(removed)}

    def list(self) -> list[dict[str, Any]]:
        """Every applied run: name, version, state, started_at."""
        return [{"name": run.workflow, "version": run.version, "state": run.runtime.state,
                 "started_at": run.started_at} for run in self.backend.applied().values()]

    def status(self, name: str) -> dict[str, Any]:
        """State, version, start time, per-step counters and backlog, per-Sensor counters."""
        history = self._history(name)
        applied = self._applied(name)
        version = applied.version if applied and applied.version else None
        if version is None and not history[-1].deleted:
            version = history[-1].version
        runtime = applied.runtime if applied else None
        answer: dict[str, Any] = {
            "name": name, "version": version, "state": runtime.state if runtime else "stopped",
            "reason": runtime.reason if runtime else "", "started_at": applied.started_at if applied else None,
            "steps": [], "sensors": dict(runtime.sensors) if runtime else {},
            "skipped": [{"sensor": s, "reason": r} for s, r in (runtime.skipped if runtime else ())],
            "errors": {}}
        if version is None:
            answer["reason"] = answer["reason"] or f"workflow {name!r} was deleted at version {history[-1].version}"
            return answer
        workflow = self.configs.get(name, version).workflow()
        records = self._records(name, answer["errors"])
        ends, committed = self._offsets(workflow, answer["errors"])
        answer["steps"] = step_statuses(workflow, records, ends, committed)
        return answer

    # -- edges ---------------------------------------------------------------------------------
    def _history(self, name: str):
        try:
            return self.configs.history(name)
        except WorkflowNotFound:
            raise RunRefused(404, "name", f"no workflow {name!r}") from None

    def _records(self, name: str, errors: dict[str, str]):
        if self.edges.records is None:
            errors["records"] = "not measured here (RUN_COUNTERS=none)"
            return None
        try:
            return self.edges.records.records(name)
        except EdgeError as exc:
            errors["records"] = str(exc)
            return None

    def _offsets(self, workflow, errors: dict[str, str]):
        if self.edges.offsets is None:
            errors["kafka"] = "not measured here"
            return {}, {}
        wanted = inputs(workflow)
        try:
            reader = self.edges.offsets()
        except EdgeError as exc:
            errors["kafka"] = str(exc)
            return {}, {}
        try:
            ends = reader.end_offsets(sorted({i.topic for i in wanted}))
            committed = {(i.group, i.topic): reader.committed(i.group, i.topic, sorted(ends[i.topic].high))
                         for i in wanted}
            return ends, committed
        except EdgeError as exc:
            errors["kafka"] = str(exc)
            return {}, {}
        finally:
            close = getattr(reader, "close", None)
            if close is not None:
                close()
