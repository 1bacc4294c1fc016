"""At most once: the identities of the batches a consumer applied, kept beside its rows.

A Sensor retries a call whose answer it did not get, and a replay re-delivers a range; both give
the loader an input it may already have written. The input's identity (docs/contracts.md, "Step
invocation": a batch's ``etl-batch`` id, else the Argo event id) is inserted into
``faas_etl_applied`` in the same transaction as the batch's rows, before them. If the identity is
already there the transaction writes nothing: the rows and their mark commit together or not at
all, so a crash between the insert and the commit leaves neither, and the retry applies the batch
once. On PostgreSQL a second replica applying the same batch concurrently waits on the primary
key until the first commits, then finds the mark.

A plain message's identity is its Argo event id, ``<eventsource>:<event>:<first broker of the
url>:<topic>:<partition>:<offset>`` (argo-events v1.9.11 ``pkg/eventsources/sources/kafka/
start.go`` ``genUniqueID``): a position, not a content. It stays right while the topic keeps
its offsets; a topic deleted and made again (offsets from 0) next to a kept warehouse, or an
EventSource url listing another broker first, changes what an id means. Batches carry their own
content-derived ids (etlkit/wire.py) and have neither limit.

The table is shared by every table of a database; ``consumer`` (``workflow/step/table``) keeps
two sinks that read the same topic apart. Rows are never pruned: one row per applied batch (up
to 4000 records), so a year of a busy sink is a few million small rows.
"""
from __future__ import annotations

from typing import Mapping

from dataclasses import dataclass

APPLIED_TABLE = "faas_etl_applied"


@dataclass(frozen=True)
class AppliedMark:
    """What marks one input as applied: who applied it, its identity, and when (epoch ms)."""

    consumer: str
    batch_id: str
    applied_at_ms: int

    def __post_init__(self) -> None:
        for name in ("consumer", "batch_id"):
            value = getattr(self, name)
            if not isinstance(value, str) or not value:
                raise ValueError(f"applied mark: {name} must be non-empty text, got {value!r}")
        if type(self.applied_at_ms) is not int:
            raise ValueError(f"applied mark: applied_at_ms must be an int, got {self.applied_at_ms!r}")

    @property
    def values(self) -> tuple[str, str, int]:
        return (self.consumer, self.batch_id, self.applied_at_ms)


def consumer_name(workflow: str, step: str, table: str) -> str:
    """The consumer a sink's marks belong to: its workflow, step and table."""
    return f"{workflow}/{step}/{table}"


def create_applied_table(sql_types: Mapping[str, str]) -> str:
    """``CREATE TABLE IF NOT EXISTS faas_etl_applied`` in a backend's types (``"text"`` and
    ``"integer"`` name them)."""
    return (f'CREATE TABLE IF NOT EXISTS "{APPLIED_TABLE}" ("consumer" {sql_types["text"]} NOT NULL, '
            f'"batch_id" {sql_types["text"]} NOT NULL, "applied_at_ms" {sql_types["integer"]} NOT NULL, '
            f'PRIMARY KEY ("consumer", "batch_id"))')


def insert_mark(paramstyle: str) -> str:
    """The statement inserting a mark, doing nothing (0 rows) when it is there already, in the
    driver's DB-API ``paramstyle`` ("qmark": sqlite3, "format": psycopg)."""
    marks = "?, ?, ?" if paramstyle == "qmark" else "%s, %s, %s"
    return (f'INSERT INTO "{APPLIED_TABLE}" ("consumer", "batch_id", "applied_at_ms") VALUES ({marks})'
            ' ON CONFLICT ("consumer", "batch_id") DO NOTHING')
