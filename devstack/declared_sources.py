"""Every source a workflow declares, started when ``faas-etl up -w`` wires the workflow.

* ``http``: the ingest function serves it; nothing to start.
* ``file``: streamed **once**, when the workflow is wired (the file-source function, by path, as
  ``faas-etl run`` streams it), not watched: a file is a bounded input, and after ``down``/``up``
  the broker is empty and the state reset (``faas-etl up`` says so), so streaming it again on the
  next ``up`` is what makes the new stack whole. It ends its topic only when it is the topic's
  only source (:func:`devstack.pipeline.run.sole_source`).
* ``sql`` and ``metrics``: ticked by the workflow's calendar EventSource. A sql source whose
  table does not exist yet would answer HTTP 500 on every tick, forever; its Sensor is **held**
  instead, with the reason said once, and started as soon as the table appears (checked every
  ``poll_s``): a data engineer who declares a table that is not there yet wants to be told so,
  not to see a red count grow, nor an empty table made up with guessed columns.

:func:`missing_tables` is the pure part; :class:`DeclaredSources` does the I/O around a
:class:`~devstack.pipeline.run.WorkflowRun`.
"""
from __future__ import annotations

import threading
from typing import Callable, Mapping, Sequence

from etlkit.controller.errors import EdgeError
from etlkit.controller.gateway import Gateway
from etlkit.runs.documents import VERSION_ANNOTATION
from etlkit.warehouse import DatabaseUrlError, resolve_reference
from etlkit.warehouse.url import redact_url
from etlkit.workflow import Workflow
from etlkit.workflow.model import FileSource, SqlSource

from .pipeline.run import RunError, WorkflowRun, file_source_request
from .pipeline.selection import OPERATION_LABEL, Document
from .running_workflows import ManagerUnreadable, manager_definition
from .pipeline.sqldb import table_exists

POLL_S = 5.0  # how often a held sql source's table is looked for (the orders sample ticks every 5 s)


def missing_tables(workflow: Workflow, exists: Callable[[SqlSource], str | None]) -> dict[str, str]:
    """Per sql source whose table is not there, the reason (``exists`` answers None when it is,
    else why not). Sorted by source name.
    """
    out = {}
    for source in sorted(workflow.sources, key=lambda s: s.name):
        if isinstance(source, SqlSource):
            reason = exists(source)
            if reason is not None:
                out[source.name] = reason
    return out


def file_sources_of_manager_runs(gateway: Gateway, say: Callable[[str], None] = lambda msg: None
                                 ) -> Callable[[str, Sequence[Document]], None]:
    """The :class:`~devstack.argo.supervisor.Supervisor`'s ``on_start`` for ``faas-etl up``: when
    it first runs a workflow the manager started, that version's file sources are streamed once
    (in a thread of their own: the reconciler does not wait), as ``up -w`` streams its own."""

    def stream(name: str, version: int) -> None:
        try:
            workflow = manager_definition(gateway, name, version)
        except ManagerUnreadable as exc:
            say(f"{name}: its file sources not streamed: {exc}")
            return
        for source in workflow.sources:
            if not isinstance(source, FileSource):
                continue
            try:
                resp = gateway.request("POST", "/function/file-source", edge="file-source",
                                       json=file_source_request(workflow, source))
            except EdgeError as exc:
                say(f"{name}: sources.{source.name}: not streamed: {exc.detail}")
                continue
            say(f"{name}: sources.{source.name}: {source.path} streamed once to {source.topic}: "
                f"HTTP {resp.status_code} {resp.text[:200]}")

    def on_start(name: str, documents: Sequence[Document]) -> None:
        versions = {(d.body.get("metadata") or {}).get("annotations", {}).get(VERSION_ANNOTATION)
                    for d in documents if d.kind in ("EventSource", "Sensor")}
        versions.discard(None)
        if len(versions) != 1 or not str(next(iter(versions))).isdigit():
            say(f"{name}: its file sources not streamed: its documents name no one version ({sorted(versions)})")
            return
        threading.Thread(target=stream, args=(name, int(next(iter(versions)))),
                         name=f"sources:{name}", daemon=True).start()

    return on_start


class DeclaredSources:
    """Start ``run``'s sources: ``start()`` prepares and starts the run without the held sql
    sources, streams the file sources; a thread starts a held source once its table exists.
    ``close()`` stops that thread (the run is the caller's to close)."""

    def __init__(self, run: WorkflowRun, env: Mapping[str, str], secrets_dir: str,
                 say: Callable[[str], None] = lambda msg: None, poll_s: float = POLL_S) -> None:
        # ``env``: what the functions' environment names (WAREHOUSE_URL), for ``env:`` references.
        self.run, self.env, self.secrets_dir, self.say, self.poll_s = run, env, secrets_dir, say, poll_s
        self.held: dict[str, str] = {}
        self.streamed: dict[str, dict] = {}
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    # -- the table check ----------------------------------------------------------------------
    def _url(self, source: SqlSource) -> str:
        if source.url.startswith("env:") and source.url[4:] in self.env:
            return self.env[source.url[4:]]
        return resolve_reference(source.url, f"sources.{source.name}.url", self.secrets_dir)

    def table_missing(self, source: SqlSource) -> str | None:
        """None when ``source``'s table exists, else why it cannot be pulled."""
        try:
            url = self._url(source)
        except DatabaseUrlError as exc:
            return str(exc)
        try:
            if table_exists(url, source.table, self.secrets_dir):
                return None
        except Exception as exc:  # noqa: BLE001 - a database that does not answer: held, said why
            return f"{redact_url(url)} did not answer ({type(exc).__name__}: {exc})"
        return f"table {source.table} does not exist in {redact_url(url)}"

    # -- starting -----------------------------------------------------------------------------
    def _operations(self) -> set[str]:
        assert self.run.selection is not None
        ops = {d.label(OPERATION_LABEL) for d in self.run.selection.documents if d.kind == "Sensor"}
        ops |= {s.sensor.removeprefix(f"{self.run.workflow.name}-") for s in self.run.selection.skipped}
        return {op for op in ops if op} - set(self.held)

    def _prepare_and_start(self) -> None:
        self.run.prepare()
        if self.held:
            self.run.prepare(sorted(self._operations()))
        self.run.start()

    def start(self) -> "DeclaredSources":
        name = self.run.workflow.name
        self.held = missing_tables(self.run.workflow, self.table_missing)
        for source, reason in self.held.items():
            self.say(f"{name}: sources.{source}: {reason}; its ticks are held until it does "
                     f"(looked for every {self.poll_s:g}s)")
        self._prepare_and_start()
        for source in self.run.workflow.sources:
            if isinstance(source, FileSource):
                self._stream(source)
        if self.held:
            self._thread = threading.Thread(target=self._watch, name=f"sources:{name}", daemon=True)
            self._thread.start()
        return self

    def _stream(self, source: FileSource) -> None:
        try:
            answer = self.run.stream_file(source.name)
        except (RunError, OSError) as exc:
            self.say(f"{self.run.workflow.name}: sources.{source.name}: not streamed: {exc}")
            return
        self.streamed[source.name] = answer
        self.say(f"{self.run.workflow.name}: sources.{source.name}: {source.path} streamed once to "
                 f"{source.topic} ({answer.get('records', '?')} records, "
                 f"{answer.get('dead_lettered', 0)} dead-lettered)")

    def _watch(self) -> None:
        while self.held and not self._stop.wait(self.poll_s):
            found = [s for s in self.run.workflow.sources
                     if s.name in self.held and self.table_missing(s) is None]
            if not found:
                continue
            with self._lock:
                if self._stop.is_set():
                    return
                for source in found:
                    del self.held[source.name]
                    self.say(f"{self.run.workflow.name}: sources.{source.name}: table {source.table} "
                             f"is there now: its ticks start")
                self.run.stop_runner()
                self._prepare_and_start()

    def close(self) -> None:
        self._stop.set()
        with self._lock:
            pass  # a restart in progress finishes first
        if self._thread is not None:
            self._thread.join(10)
