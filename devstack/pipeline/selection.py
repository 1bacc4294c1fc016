"""Which committed manifests a local workflow run uses: one workflow's, and only what can run.

The runner executes a folder of Argo Events manifests. A workflow run gives it a copy of the
committed ``argo-events/`` documents labelled ``faas-etl.dev/workflow: <name>``, minus the Sensors
whose HTTP triggers call a function the gateway does not serve (today the autoscaler, issue 6):
such a Sensor would only fail on every tick. Each skipped Sensor comes back with the reason, so
the run says what it left out; once the function is deployed its Sensor runs with no change here.

The workflow's topics come from the committed ``k8s/topics/`` KafkaTopics with the same label
(partitions as written; the local broker has one replica).

Pure functions over parsed YAML documents; :func:`read_documents` and :func:`write_documents`
are the I/O.
"""
from __future__ import annotations

import pathlib
from dataclasses import dataclass
from typing import Any, Iterable, Mapping, Sequence
from urllib.parse import urlsplit

import yaml

WORKFLOW_LABEL = "faas-etl.dev/workflow"
OPERATION_LABEL = "faas-etl.dev/operation"
FUNCTION_PATHS = ("/function/", "/async-function/")


@dataclass(frozen=True)
class Document:
    """One YAML document and the file (relative to its folder) it came from."""

    file: str
    body: Mapping[str, Any]

    @property
    def kind(self) -> str:
        return str(self.body.get("kind", ""))

    @property
    def name(self) -> str:
        return str((self.body.get("metadata") or {}).get("name", ""))

    def label(self, key: str) -> str | None:
        labels = (self.body.get("metadata") or {}).get("labels") or {}
        value = labels.get(key)
        return None if value is None else str(value)


@dataclass(frozen=True)
class Skipped:
    sensor: str
    reason: str


@dataclass(frozen=True)
class Selection:
    documents: tuple[Document, ...]
    skipped: tuple[Skipped, ...]

    @property
    def sensors(self) -> tuple[str, ...]:
        return tuple(d.name for d in self.documents if d.kind == "Sensor")


class SelectionError(ValueError):
    """The folder holds nothing to run for the workflow; the message says what is missing."""


def called_functions(sensor: Mapping[str, Any]) -> list[str]:
    """The gateway functions a Sensor's HTTP triggers call, in trigger order."""
    names = []
    for trigger in (sensor.get("spec") or {}).get("triggers") or []:
        http = ((trigger or {}).get("template") or {}).get("http") or {}
        path = urlsplit(str(http.get("url", ""))).path
        for prefix in FUNCTION_PATHS:
            if path.startswith(prefix):
                names.append(path[len(prefix):].split("/")[0])
    return names


def choose_documents(documents: Iterable[Document], workflow: str, deployed: Iterable[str],
                     operations: Iterable[str] | None = None) -> Selection:
    """The workflow's EventSources and runnable Sensors; the other Sensors with the reason.

    ``operations``: only the Sensors of these operations (label ``faas-etl.dev/operation``),
    e.g. one step on its own; None: all of them.
    """
    deployed = set(deployed)
    wanted = None if operations is None else set(operations)
    kept: list[Document] = []
    skipped: list[Skipped] = []
    for doc in documents:
        if doc.kind not in ("EventSource", "Sensor") or doc.label(WORKFLOW_LABEL) != workflow:
            continue
        if doc.kind == "Sensor":
            if wanted is not None and doc.label(OPERATION_LABEL) not in wanted:
                skipped.append(Skipped(doc.name, "not one of the operations asked for"))
                continue
            missing = [f for f in called_functions(doc.body) if f not in deployed]
            if missing:
                skipped.append(Skipped(doc.name, f"calls {', '.join(sorted(set(missing)))}, "
                                                 "which the gateway does not serve"))
                continue
        kept.append(doc)
    selection = Selection(tuple(kept), tuple(skipped))
    if not selection.sensors:
        raise SelectionError(f"workflow {workflow!r}: no runnable Sensor labelled "
                             f"{WORKFLOW_LABEL}={workflow} (skipped: "
                             f"{', '.join(s.sensor for s in skipped) or 'none'})")
    return selection


def workflow_topics(documents: Iterable[Document], workflow: str) -> dict[str, int]:
    """``{topic: partitions}`` of the workflow's KafkaTopic documents."""
    topics = {}
    for doc in documents:
        if doc.kind != "KafkaTopic" or doc.label(WORKFLOW_LABEL) != workflow:
            continue
        partitions = (doc.body.get("spec") or {}).get("partitions")
        if isinstance(partitions, bool) or not isinstance(partitions, int) or partitions < 1:
            raise SelectionError(f"{doc.file}: spec.partitions: must be a positive integer")
        topics[doc.name] = partitions
    if not topics:
        raise SelectionError(f"workflow {workflow!r}: no KafkaTopic labelled {WORKFLOW_LABEL}={workflow}")
    return topics


# -- I/O ----------------------------------------------------------------------------------------
def read_documents(folder: pathlib.Path) -> list[Document]:
    """Every mapping document of every ``*.yaml``/``*.yml`` below ``folder``, in path order."""
    docs = []
    for path in sorted(p for p in folder.rglob("*") if p.suffix in (".yaml", ".yml") and p.is_file()):
        rel = path.relative_to(folder).as_posix()
        docs += [Document(rel, body) for body in yaml.safe_load_all(path.read_text(encoding="utf-8"))
                 if isinstance(body, dict)]
    return docs


def write_documents(documents: Sequence[Document], source: pathlib.Path, target: pathlib.Path) -> pathlib.Path:
    """Write the chosen documents under ``target`` (emptied first) with their relative file names.

    A file all of whose documents were chosen is copied byte for byte (comments and all); a file
    only partly chosen is written back with just those documents.
    """
    target.mkdir(parents=True, exist_ok=True)
    for old in [*target.rglob("*.yaml"), *target.rglob("*.yml")]:
        old.unlink()
    by_file: dict[str, list[Mapping[str, Any]]] = {}
    for doc in documents:
        by_file.setdefault(doc.file, []).append(doc.body)
    for file, bodies in by_file.items():
        text = (source / file).read_text(encoding="utf-8")
        whole = [b for b in yaml.safe_load_all(text) if isinstance(b, dict)]
        out = target / file
        out.parent.mkdir(parents=True, exist_ok=True)
        out.write_text(text if whole == bodies else yaml.safe_dump_all(bodies, sort_keys=False),
                       encoding="utf-8")
    return target
