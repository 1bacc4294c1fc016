"""The data path a chaos run measures: ingest -> Kafka -> map -> Kafka -> loader -> PostgreSQL.

A workflow of its own (not one of ``workflows/``, whose rendered manifests are committed): one
HTTP source, one ``map`` step that derives a field from another (so the data check proves the
step ran exactly on each record), and the warehouse sink upserting by record id. It goes through
the same parser and renderer as any workflow, and the local Argo Events runner runs what they
produce, so the wiring under test is the production wiring. The bad-input suite runs the same
path under another name.

The delivery retries for about 40 s (10 attempts, from 0.5 s growing x1.5) before a batch goes to
the dead-letter topic: longer than a warehouse or gateway restart takes, so Kafka holds the
records while the loader is away. With the default retry (3 attempts over ~3 s), a restart
that takes longer dead-letters whole batches: see the report's ``dead_letters``.
"""
from __future__ import annotations

import pathlib
from dataclasses import dataclass
from typing import Iterable

from etlkit.workflow.parse import parse_workflow
from etlkit.workflow.render import render_workflow

from ..pipeline.selection import choose_documents, read_documents, workflow_topics, write_documents

KEY = "id"
FUNCTIONS = ("ingest", "map", "warehouse-loader")  # the data path, in order
DERIVED = "n2"  # the field the map step adds: n * 2


def expected_row(record: dict) -> dict:
    """The warehouse row the data path must make of a record as sent (without its id)."""
    row = {k: v for k, v in record.items() if k != KEY}
    row[DERIVED] = record["n"] * 2
    return row


@dataclass(frozen=True)
class DataPath:
    """The workflow ``name`` and the names it derives: topics, dead-letter topic, table."""
    name: str = "chaos"
    batch_size: int = 200
    timeout: str = "30s"  # the Sensors' HTTP trigger timeout (delivery.timeout)

    @property
    def source_topic(self) -> str:
        return f"{self.name}-in"

    @property
    def step_topic(self) -> str:
        return f"{self.name}-mapped"

    @property
    def dead_letter(self) -> str:
        return f"{self.name}-dlq"

    @property
    def table(self) -> str:
        return f"{self.name.replace('-', '_')}_events"

    def ingest_path(self, source: str = "writers") -> str:
        return f"/function/ingest/{self.source_topic}?key={KEY}&source={source}"

    def definition(self) -> dict:
        return {
            "name": self.name,
            "description": "The chaos harness's data path: records in, derived field, warehouse.",
            "sources": [{"name": "writers", "kind": "http", "topic": self.source_topic, "key": KEY}],
            "steps": [{"name": "double", "kind": "map", "output": self.step_topic,
                       "params": {"derive": {DERIVED: "n * 2"}}}],
            "sink": {"table": self.table, "key": KEY, "url": "env:WAREHOUSE_URL"},
            "topics": {self.source_topic: {"partitions": 3}, self.step_topic: {"partitions": 3},
                       self.dead_letter: {"partitions": 1}},
            "dead_letter": self.dead_letter,
            "delivery": {"timeout": self.timeout,
                         "retry": {"steps": 10, "duration": "500ms", "factor": 1.5, "jitter": 0.2}},
        }

    def write_manifests(self, folder: pathlib.Path, deployed: Iterable[str]) -> dict[str, int]:
        """Render the workflow under ``folder/rendered`` and put what the runner runs (its
        EventSources and the Sensors of deployed functions) under ``folder/argo-events``; the
        topics to create, ``{name: partitions}``."""
        workflow = parse_workflow(self.definition())
        rendered = folder / "rendered"
        for f in render_workflow(workflow, 1, source="devstack/chaos/workflow.py"):
            target = rendered / f.path
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_text(f.text, encoding="utf-8")
        argo = rendered / "argo-events"
        selection = choose_documents(read_documents(argo), self.name, deployed)
        write_documents(selection.documents, argo, folder / "argo-events")
        return workflow_topics(read_documents(rendered / "k8s" / "topics"), self.name)


CHAOS = DataPath()
