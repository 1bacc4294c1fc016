"""The local reconciler: runs what the workflow-manager applies on the embedded stack.

The Runner's local backend (:mod:`etlkit.runs.local_backend`) is the embedded default's
"cluster": it writes each running workflow's documents to ``<run dir>/argo-apply/<workflow>/
manifests.yaml`` and removes the folder to stop it. :class:`Supervisor` plays the Argo Events
and Strimzi controllers against those folders, every ``interval_s``:

* a new folder: its KafkaTopics are created when missing (a fresh embedded broker has none),
  the Sensors whose functions the gateway serves are chosen (:mod:`devstack.pipeline.selection`;
  the others are reported as skipped, with the reason), written to ``<run dir>/argo-runs/
  <workflow>/`` and run by a :class:`~devstack.argo.runner.Runner`;
* changed documents (another version, a new start): that runner is stopped (in-flight calls
  finish, done offsets are committed) and a new one started on them;
* a folder gone: its runner is stopped; the consumer groups keep their offsets in Kafka, so a
  later start resumes there and nothing is lost.

What it runs is written to ``<run dir>/argo-runs/<workflow>.json`` (digest of the documents,
state, reason, skipped Sensors and the runner's status with per-Sensor counters), which the
workflow-manager reads back for ``GET /workflows/<name>/run``. :func:`plan` is the pure part.
``faas-etl up`` starts one; so does the Runner's end-to-end test.
"""
from __future__ import annotations

import logging
import pathlib
import threading
import time
from dataclasses import dataclass
from typing import Any, Callable, Mapping

import requests
import yaml

from etlkit.runs.local_backend import APPLY_DIR, MANIFESTS, RUNS_DIR, digest, read_status, write_status

from ..broker import BrokerError, create_topics
from ..pipeline.selection import Document, SelectionError, choose_documents, workflow_topics, write_documents
from .runner import Runner
from .yamlnode import ManifestError

log = logging.getLogger("devstack.argo.supervisor")


@dataclass(frozen=True)
class Action:
    """``start``, ``restart`` or ``stop`` the runner of ``workflow``."""

    kind: str
    workflow: str


def plan(desired: Mapping[str, str], running: Mapping[str, str]) -> list[Action]:
    """What to do so that every applied workflow (``desired``: name -> digest of its documents)
    runs exactly those documents, given what runs (``running``: name -> digest). Sorted by name.

    >>> plan({"a": "1", "b": "2"}, {"b": "1", "c": "1"})
    [Action(kind='start', workflow='a'), Action(kind='restart', workflow='b'), Action(kind='stop', workflow='c')]
    """
    actions = []
    for name in sorted(set(desired) | set(running)):
        if name not in desired:
            actions.append(Action("stop", name))
        elif name not in running:
            actions.append(Action("start", name))
        elif desired[name] != running[name]:
            actions.append(Action("restart", name))
    return actions


@dataclass
class _Run:
    digest: str
    state: str
    reason: str = ""
    runner: Runner | None = None
    skipped: tuple[dict[str, str], ...] = ()


class Supervisor:
    """Watches ``<run_dir>/argo-apply``; ``start()``, ``stop()``, or ``reconcile()`` once."""

    def __init__(self, run_dir: str | pathlib.Path, bootstrap: str, gateway_url: str,
                 credentials: tuple[str, str] | Any = None, *,
                 interval_s: float = 0.5, session_timeout_ms: int = 6000,
                 on_start: Callable[[str, list[Document]], None] | None = None) -> None:
        self.run_dir = pathlib.Path(run_dir)
        self.apply_dir, self.status_dir = self.run_dir / APPLY_DIR, self.run_dir / RUNS_DIR
        self.bootstrap, self.gateway_url = bootstrap, gateway_url.rstrip("/")
        if credentials is not None and not isinstance(credentials, tuple):
            credentials = (credentials.user, credentials.password)  # a gateway Credentials
        self.credentials = credentials
        self.interval_s, self.session_timeout_ms = interval_s, session_timeout_ms
        # Called with a workflow's documents once its runner first runs them (not on a restart
        # for a new version): `faas-etl up` streams the run's file sources then.
        self.on_start = on_start
        self._runs: dict[str, _Run] = {}
        self._stopping = threading.Event()
        self._thread: threading.Thread | None = None

    # -- the loop ------------------------------------------------------------------------------
    def start(self) -> "Supervisor":
        self.apply_dir.mkdir(parents=True, exist_ok=True)
        for path in sorted(self.status_dir.glob("*.json")):  # left by a reconciler that died
            status = read_status(self.status_dir, path.stem) or {}
            if status.get("state") != "stopped":
                write_status(self.status_dir, path.stem, {**status, "state": "stopped",
                                                          "reason": "the reconciler restarted"})
        self._thread = threading.Thread(target=self._loop, name="argo:supervisor", daemon=True)
        self._thread.start()
        return self

    def _loop(self) -> None:
        while not self._stopping.is_set():
            try:
                self.reconcile()
            except Exception:  # the loop must outlive any one workflow's trouble
                log.exception("reconcile failed; trying again")
            self._stopping.wait(self.interval_s)

    def stop(self) -> None:
        """Stop watching, then every runner (in-flight calls finish, offsets are committed)."""
        self._stopping.set()
        if self._thread is not None:
            self._thread.join(60)
        for name in sorted(self._runs):
            self._stop(name)

    def __enter__(self) -> "Supervisor":
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()

    # -- one pass ------------------------------------------------------------------------------
    def _desired(self) -> dict[str, str]:
        texts = {}
        for folder in sorted(self.apply_dir.iterdir()) if self.apply_dir.is_dir() else ():
            if folder.name.startswith(".") or not folder.is_dir():
                continue
            try:
                texts[folder.name] = (folder / MANIFESTS).read_text(encoding="utf-8")
            except FileNotFoundError:  # being created, or removed under us
                continue
        return texts

    def reconcile(self) -> list[Action]:
        """Start, restart and stop runners to match the folders; write every run's status."""
        texts = self._desired()
        actions = plan({name: digest(text) for name, text in texts.items()},
                       {name: run.digest for name, run in self._runs.items()})
        for action in actions:
            if action.kind in ("stop", "restart"):
                self._stop(action.workflow)
            if action.kind in ("start", "restart"):
                self._start(action.workflow, texts[action.workflow])
            if action.kind == "start" and self.on_start is not None and self._runs[action.workflow].runner:
                try:
                    self.on_start(action.workflow, [Document(MANIFESTS, body) for body in
                                                    yaml.safe_load_all(texts[action.workflow]) if isinstance(body, dict)])
                except Exception:  # noqa: BLE001 - the run goes on; the callback says what failed
                    log.exception("workflow %s: on_start failed", action.workflow)
        for name in sorted(self._runs):
            self._write(name)
        return actions

    def _deployed(self) -> set[str]:
        resp = requests.get(f"{self.gateway_url}/system/functions", auth=self.credentials, timeout=10)
        resp.raise_for_status()
        return {f["name"] for f in resp.json()}

    def _start(self, name: str, text: str) -> None:
        run = self._runs[name] = _Run(digest(text), "starting")
        target = self.status_dir / name
        try:
            docs = [Document(MANIFESTS, body) for body in yaml.safe_load_all(text) if isinstance(body, dict)]
            create_topics(self.bootstrap, workflow_topics(docs, name))
            selection = choose_documents(docs, name, self._deployed())
            write_documents(selection.documents, self.apply_dir / name, target)
            run.skipped = tuple({"sensor": s.sensor, "reason": s.reason} for s in selection.skipped)
            run.runner = Runner(target, self.bootstrap, self.gateway_url, self.credentials,
                                session_timeout_ms=self.session_timeout_ms)
            run.runner.start()
        except (SelectionError, ManifestError, BrokerError, yaml.YAMLError, requests.RequestException,
                OSError) as exc:
            if run.runner is not None:
                run.runner.stop()
                run.runner = None
            run.state, run.reason = "failed", f"{type(exc).__name__}: {exc}"
            log.warning("workflow %s: not run: %s", name, run.reason)
            return
        run.state = "running"
        log.info("workflow %s: running %d Sensors (%d skipped)", name, len(selection.sensors),
                 len(selection.skipped))

    def _stop(self, name: str) -> None:
        run = self._runs.pop(name, None)
        if run is None:
            return
        if run.runner is not None:
            run.runner.stop()
            log.info("workflow %s: runner stopped", name)
        run.state, run.reason = "stopped", "its documents were removed or replaced"
        self._write(name, run)

    def _write(self, name: str, run: _Run | None = None) -> None:
        run = run or self._runs[name]
        write_status(self.status_dir, name, {
            "workflow": name, "digest": run.digest, "state": run.state, "reason": run.reason,
            "updated_at": time.time(), "skipped": list(run.skipped),
            "runner": run.runner.status() if run.runner is not None else {}})
