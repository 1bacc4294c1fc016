"""The embedded default's "cluster": a folder per running workflow, run by a local reconciler.

Applying writes every document of the run to ``<run dir>/argo-apply/<workflow>/manifests.yaml``
in one atomic replace (a reader sees the old set or the new one, never half of each), after
creating the missing Kafka topics, so records can be ingested the moment a start answers.
Deleting removes the folder. ``devstack.argo.supervisor`` watches the folders: for each it runs
the local Argo Events runner on the documents, restarts it when they change, stops it when the
folder goes, and writes what it runs to ``<run dir>/argo-runs/<workflow>.json``
(:func:`write_status`), which :meth:`LocalBackend.applied` reads back.

:func:`local_runtime` (pure) judges a run from that status and the digest of the documents.
"""
from __future__ import annotations

import hashlib
import json
import os
import shutil
import tempfile
import uuid
from pathlib import Path
from typing import Any, Mapping, Protocol, Sequence

from .backend import ApplyFailed, AppliedRun, Runtime
from .documents import RunDocument, parse_documents, to_yaml, wiring

APPLY_DIR = "argo-apply"  # under the run folder: one folder per applied workflow
RUNS_DIR = "argo-runs"  # under the run folder: the reconciler's status (and runner copy) per workflow
MANIFESTS = "manifests.yaml"


class TopicMaker(Protocol):
    def create(self, topics: Mapping[str, int]) -> None:
        """Create each topic (name -> partitions) that does not exist yet; :class:`ApplyFailed`
        names the first that could not be."""


def digest(text: str) -> str:
    """What identifies one applied set of documents (the reconciler records which it runs)."""
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def status_path(status_dir: Path, workflow: str) -> Path:
    return Path(status_dir) / f"{workflow}.json"


def write_status(status_dir: Path, workflow: str, status: Mapping[str, Any]) -> None:
    """The reconciler's report on one workflow, replaced atomically (readers never see half)."""
    target = status_path(status_dir, workflow)
    target.parent.mkdir(parents=True, exist_ok=True)
    _replace(target, json.dumps(status, indent=1, sort_keys=True))


def read_status(status_dir: Path, workflow: str) -> dict[str, Any] | None:
    try:
        return json.loads(status_path(status_dir, workflow).read_text(encoding="utf-8"))
    except FileNotFoundError:
        return None


def _replace(target: Path, text: str) -> None:
    fd, tmp = tempfile.mkstemp(dir=target.parent, prefix=f".{target.name}.")
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as out:
            out.write(text)
        os.replace(tmp, target)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def local_runtime(applied_digest: str | None, status: Mapping[str, Any] | None) -> Runtime:
    """The state of a local run, from the reconciler's status and the applied documents' digest
    (None: no documents applied).

    >>> local_runtime("d1", None).state
    'starting'
    >>> local_runtime(None, {"digest": "d1", "state": "running", "runner": {}}).state
    'stopping'
    """
    state = (status or {}).get("state")
    if applied_digest is None:
        return Runtime("stopping" if state in ("running", "starting") else "stopped",
                       "the local reconciler is stopping its runner" if state in ("running", "starting") else "")
    if status is None:
        return Runtime("starting", "waiting for the local reconciler (faas-etl up) to pick it up")
    if status.get("digest") != applied_digest:
        return Runtime("starting", "the local reconciler has not run these documents yet")
    skipped = tuple((s["sensor"], s["reason"]) for s in status.get("skipped") or ())
    if state == "failed":
        return Runtime("failed", str(status.get("reason", "")), skipped=skipped)
    if state != "running":
        return Runtime("starting", str(status.get("reason", "")), skipped=skipped)
    runner = status.get("runner") or {}
    sensors = {name: dict(counters) for name, counters in (runner.get("sensors") or {}).items()}
    dead = sorted({s["sensor"] for s in runner.get("subscriptions") or () if not s.get("alive", True)})
    if dead:
        return Runtime("failed", f"the runner's subscriptions of {', '.join(dead)} stopped",
                       sensors, skipped)
    return Runtime("running", "", sensors, skipped)


class LocalBackend:
    """A :class:`~.backend.RunBackend` over ``apply_dir`` (see the module)."""

    def __init__(self, apply_dir: Path, status_dir: Path, topics: TopicMaker) -> None:
        self.apply_dir, self.status_dir, self.topics = Path(apply_dir), Path(status_dir), topics

    def apply(self, workflow: str, documents: Sequence[RunDocument]) -> None:
        wanted = {d.name: int((d.body.get("spec") or {}).get("partitions") or 1)
                  for d in documents if d.kind == "KafkaTopic"}
        self.topics.create(wanted)
        folder = self.apply_dir / workflow
        try:
            folder.mkdir(parents=True, exist_ok=True)
            # Topics stay in the file: the reconciler creates them again on a fresh broker.
            _replace(folder / MANIFESTS, to_yaml(documents))
        except OSError as exc:
            raise ApplyFailed(f"{folder / MANIFESTS}", f"not written ({exc})") from exc

    def delete(self, workflow: str) -> tuple[str, ...]:
        folder = self.apply_dir / workflow
        removed = self._documents(folder)
        if not folder.exists():
            return ()
        # Renamed first, so the reconciler never sees a folder half removed.
        doomed = self.apply_dir / f".deleted-{workflow}-{uuid.uuid4().hex[:8]}"
        os.replace(folder, doomed)
        shutil.rmtree(doomed, ignore_errors=True)
        return tuple(sorted(d.ref for d in wiring(removed)))

    def applied(self, workflow: str | None = None) -> dict[str, AppliedRun]:
        names = [workflow] if workflow else sorted(
            {p.name for p in self._listing(self.apply_dir) if p.is_dir()} |
            {p.stem for p in self._listing(self.status_dir) if p.suffix == ".json"})
        out = {}
        for name in names:
            path = self.apply_dir / name / MANIFESTS
            try:
                text = path.read_text(encoding="utf-8")
            except FileNotFoundError:
                text = None
            docs = parse_documents([(str(path), text)]) if text is not None else ()
            runtime = local_runtime(digest(text) if text is not None else None,
                                    read_status(self.status_dir, name))
            if docs or runtime.state != "stopped":
                out[name] = AppliedRun(name, wiring(docs), runtime)
        return out

    @staticmethod
    def _listing(folder: Path) -> list[Path]:
        try:
            return [p for p in folder.iterdir() if not p.name.startswith(".")]
        except FileNotFoundError:
            return []

    @staticmethod
    def _documents(folder: Path) -> tuple[RunDocument, ...]:
        try:
            return parse_documents([(str(folder / MANIFESTS), (folder / MANIFESTS).read_text(encoding="utf-8"))])
        except FileNotFoundError:
            return ()
