"""bench/bench_pipeline.py: the input it writes is what a bounded source writes, and its output
check passes a right run and fails a wrong one (real Tansu broker, real SQLite warehouse)."""
from __future__ import annotations

import json
import pathlib
import types
import zlib

import pytest

from bench.bench_pipeline import (REPO, Check, check_output, expected_rows, produce,
                                  source_messages)
from bench.pipeline_check import orders
from devstack.broker import EmbeddedBroker, create_topics
from devstack.pipeline.sqldb import create_table
from etlkit import wire
from etlkit.outrecord import json_bytes, out_record
from etlkit.workflow import load_workflow

WORKFLOW = load_workflow(REPO / "workflows" / "orders.yaml")


def test_source_messages_are_record_batches_of_one_partition_ended_on_every_partition():
    messages = source_messages("orders-raw", orders(2600), 6)
    seen, last = 0, {}
    for m in messages:
        batch, entries, end = wire.unbatch(m.value, m.headers)
        assert batch is not None and 1 <= len(entries) <= wire.MAX_RECORDS
        assert {zlib.crc32(e["key"].encode()) % 6 for e in entries} == {m.partition}
        seen += len(entries)
        last[m.partition] = end
    assert seen == 2600
    assert last == dict.fromkeys(range(6), True)  # each partition's last batch ends it
    assert sum(json.loads(m.value).get("end", False) for m in messages) == 6


@pytest.fixture
def stack(tmp_path):
    """What check_output reads of a stack: the broker and the run folder (its warehouse.db)."""
    broker = EmbeddedBroker(log_path=tmp_path / "broker.log").start()
    create_topics(broker.bootstrap, {WORKFLOW.dead_letter: 1})
    yield types.SimpleNamespace(bootstrap=broker.bootstrap, run_dir=pathlib.Path(tmp_path))
    broker.stop()


def _warehouse(stack, rows: list[dict]) -> None:
    columns = [("window_id", "text"), ("window_start", "integer"), ("window_end", "integer"),
               ("country", "text"), ("orders", "integer"), ("revenue", "real"), ("items", "integer")]
    create_table(f"sqlite:///{stack.run_dir / 'warehouse.db'}", WORKFLOW.sink.table, columns,
                 [[row[name] for name, _ in columns] for row in rows], key="window_id")


def _dead_letters(stack, letters: list[dict]) -> None:
    records = [out_record(WORKFLOW.dead_letter, json_bytes(letter), None, (), 1) for letter in letters]
    produce(stack.bootstrap, wire.batches(records, "test", lambda _topic: 1))


def test_check_passes_the_expected_windows_with_no_late_letter(stack):
    expected = expected_rows(WORKFLOW, orders(500))
    _warehouse(stack, list(expected.values()))
    _dead_letters(stack, [{"step": "with-customer", "reason": "no customer C999"}])
    check = check_output(stack, WORKFLOW, expected)
    assert check == Check(dead_letters=1, late=0, rows=len(expected), expected=len(expected), differences=())
    assert check.ok


def test_check_fails_on_a_late_letter_and_a_wrong_window_and_names_them(stack):
    expected = expected_rows(WORKFLOW, orders(500))
    rows = [dict(row) for row in expected.values()]
    wrong = rows.pop()  # one window lost, one counted short
    rows[0]["orders"] -= 1
    _warehouse(stack, rows)
    _dead_letters(stack, [{"step": "per-country", "reason": "late: event time 1 is in window [0, 60000)"},
                          {"step": "with-customer", "reason": "no customer C999"}])
    check = check_output(stack, WORKFLOW, expected)
    assert not check.ok
    assert (check.dead_letters, check.late, check.rows) == (2, 1, len(expected) - 1)
    text = check.text()
    assert "1 of 2 dead letters late at the aggregate (FAILED" in text
    assert f"1 windows missing from the warehouse, e.g. {wrong['window_id']}" in text
    assert f"{rows[0]['window_id']}: orders {rows[0]['orders']} (expected {rows[0]['orders'] + 1})" in text


def test_the_raw_loop_runs_the_map_step_over_every_record_of_the_batches(stack):
    """bench_pipeline.ceiling: the source's batches (compressed from 64 KiB: a partition's 500
    orders here are) through etlkit's map step, every record out, none dead-lettered."""
    from bench.bench_pipeline import ceiling

    measured = ceiling(stack.bootstrap, 3000, max_records=2000)
    assert measured.records == 3000 and measured.rate > 0 and measured.cpu.get("loop", 0) > 0
