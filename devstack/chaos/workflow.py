"""The data path a chaos run measures: ingest -> Kafka -> map -> Kafka -> loader -> PostgreSQL.

A workflow of its own (not one of ``workflows/``, whose rendered manifests are committed): one
HTTP source, one ``map`` step that derives a field from another (so the data check proves the
step ran exactly on each record), and the warehouse sink upserting by record id. It goes through
the same parser and renderer as any workflow, and the local Argo Events runner runs what they
produce, so the wiring under test is the production wiring.

The delivery retries for about 40 s (10 attempts, from 0.5 s growing x1.5) before a batch goes to
the dead-letter topic: longer than a warehouse or gateway restart takes, so Kafka holds the
records while the loader is away. With the default retry (3 attempts over ~3 s), a restart
that takes longer dead-letters whole batches: see the report's ``dead_letters``.
"""
from __future__ import annotations

import pathlib
from typing import Iterable

from etlkit.workflow.parse import parse_workflow
from etlkit.workflow.render import render_workflow

from ..pipeline.selection import choose_documents, read_documents, workflow_topics, write_documents

NAME = "chaos"
SOURCE_TOPIC, STEP_TOPIC, DEAD_LETTER = "chaos-in", "chaos-mapped", "chaos-dlq"
TABLE, KEY = "chaos_events", "id"
FUNCTIONS = ("ingest", "map", "warehouse-loader")  # the data path, in order
DERIVED = "n2"  # the field the map step adds: n * 2


def expected_row(record: dict) -> dict:
    """The warehouse row the data path must make of a record as sent (without its id)."""
    row = {k: v for k, v in record.items() if k != KEY}
    row[DERIVED] = record["n"] * 2
    return row


def definition(batch_size: int = 200) -> dict:
    return {
        "name": NAME,
        "description": "The chaos harness's data path: records in, derived field, warehouse.",
        "sources": [{"name": "writers", "kind": "http", "topic": SOURCE_TOPIC, "key": KEY}],
        "steps": [{"name": "double", "kind": "map", "output": STEP_TOPIC,
                   "params": {"derive": {DERIVED: "n * 2"}}}],
        "sink": {"table": TABLE, "key": KEY, "url": "env:WAREHOUSE_URL"},
        "topics": {SOURCE_TOPIC: {"partitions": 3}, STEP_TOPIC: {"partitions": 3},
                   DEAD_LETTER: {"partitions": 1}},
        "dead_letter": DEAD_LETTER,
        "delivery": {"batch_size": batch_size, "timeout": "30s",
                     "retry": {"steps": 10, "duration": "500ms", "factor": 1.5, "jitter": 0.2}},
    }


def write_manifests(folder: pathlib.Path, deployed: Iterable[str]) -> dict[str, int]:
    """Render the workflow under ``folder/rendered`` and put what the runner runs (its
    EventSources and the Sensors of deployed functions) under ``folder/argo-events``; the
    topics to create, ``{name: partitions}``."""
    workflow = parse_workflow(definition())
    rendered = folder / "rendered"
    for f in render_workflow(workflow, 1, source="devstack/chaos/workflow.py"):
        target = rendered / f.path
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(f.text, encoding="utf-8")
    argo = rendered / "argo-events"
    selection = choose_documents(read_documents(argo), NAME, deployed)
    write_documents(selection.documents, argo, folder / "argo-events")
    return workflow_topics(read_documents(rendered / "k8s" / "topics"), NAME)
