"""Issue 3's must-show: the sample orders workflow end to end, into SQLite and into PostgreSQL.

Each backend gets its own embedded stack (broker, gateway, every function) whose functions'
WAREHOUSE_URL points at it, and one run of the committed manifests: 200 orders POSTed to the
ingest function, workflows/data/orders.csv streamed by file-source, 100 rows of legacy_orders
pulled by sql-source on the runner's calendar tick, then filter -> map -> enrich -> aggregate ->
warehouse-loader. The assertions compare against answers worked out independently from the
inputs (tests/e2e/expected.py): the exact window rows, the exact dead letters by step and
reason (read from the dead-letter topic), the exact counts of every step.

Replay: the warehouse loader's consumer group is rewound to offset 0 of orders-by-country and
the runner restarted, so every window result is delivered to the loader a second time; the
warehouse must hold the same rows, none twice. The aggregate is not replayed: its windows are
closed, and replaying its input would (rightly) dead-letter every order as late.

Only the data path's Sensors run (the SQL tick, the steps, the sink): the autoscaler's tick would
rescale the functions in the middle of the counts, which its own tests cover.
"""
from __future__ import annotations

import json
import sqlite3
import uuid
from collections import Counter

import psycopg
import pytest

from devstack.demo import LEGACY_COLUMNS, WORKFLOW, Sample, run_orders
from devstack.kafka_tools import consume_all
from devstack.localstack import LocalStack
from devstack.pipeline.run import data_path
from etlkit.workflow import load_workflow

from .expected import Expected, csv_orders, follow

HTTP_ORDERS, LEGACY_ROWS = 200, 100
SAMPLE = Sample.of(HTTP_ORDERS, LEGACY_ROWS)


def _expected() -> Expected:
    expected = Expected()
    legacy = [dict(zip([c for c, _ in LEGACY_COLUMNS], row)) for row in SAMPLE.legacy]
    return follow([*SAMPLE.http, *csv_orders(expected), *legacy], expected)


EXPECTED = _expected()


def _rows(url: str) -> dict[str, dict]:
    if url.startswith("sqlite:///"):
        with sqlite3.connect(url[len("sqlite:///"):]) as db:
            db.row_factory = sqlite3.Row
            return {r["window_id"]: dict(r) for r in db.execute("SELECT * FROM orders_by_country")}
    with psycopg.connect(url, row_factory=psycopg.rows.dict_row) as db:
        return {r["window_id"]: dict(r) for r in db.execute("SELECT * FROM orders_by_country")}


@pytest.fixture(scope="module", params=["sqlite", "postgresql"])
def orders_run(request, tmp_path_factory):
    """One stack and one full run per warehouse backend; yields (stack, run, summary, url)."""
    run_dir = tmp_path_factory.mktemp(f"e2e-{request.param}")
    if request.param == "sqlite":
        url = f"sqlite:///{run_dir / 'warehouse.db'}"
    else:
        server = request.getfixturevalue("postgres_server")
        database = f"e2e_{uuid.uuid4().hex[:8]}"  # a database of its own: the session server is shared
        with psycopg.connect(server.url, autocommit=True) as admin:
            admin.execute(f'CREATE DATABASE "{database}"')
        url = server.url.rsplit("/", 1)[0] + f"/{database}"
    stack = LocalStack(run_dir=run_dir, extra_env={"WAREHOUSE_URL": url})
    run = None
    try:
        stack.up()
        run, summary = run_orders(stack, url, SAMPLE, batch=100, operations=data_path(load_workflow(WORKFLOW)))
        yield stack, run, summary, url
    finally:
        if run is not None:
            run.close()
        stack.down()


def test_the_warehouse_holds_exactly_the_windows_computed_from_the_inputs(orders_run):
    _stack, _run, _summary, url = orders_run
    rows = _rows(url)
    assert sorted(rows) == sorted(EXPECTED.windows)
    for window_id, want in EXPECTED.windows.items():
        got = rows[window_id]
        assert {k: got[k] for k in ("country", "window_start", "window_end", "orders", "items")} == \
            {k: want[k] for k in ("country", "window_start", "window_end", "orders", "items")}, window_id
        assert got["revenue"] == pytest.approx(want["revenue"], abs=1e-6), window_id


def test_dead_letters_are_exactly_the_bad_inputs_with_their_reasons(orders_run):
    stack, _run, _summary, _url = orders_run
    letters = consume_all(stack.bootstrap, "orders-dlq", sum(EXPECTED.dead.values()), timeout=30)
    got = Counter((letter["step"], letter["reason"]) for letter in (json.loads(m.value()) for m in letters))
    assert got == EXPECTED.dead
    # One of each fault the sample carries, at the step that must catch it.
    assert {step for step, _ in got} == {"orders-csv", "paid-only", "normalise", "with-customer", "per-country"}


def test_every_step_balances_with_the_counts_the_inputs_imply(orders_run):
    _stack, _run, summary, _url = orders_run
    assert summary["ok"] is True, summary["problems"] + [p for s in summary["steps"] for p in s["problems"]]
    steps = {s["name"]: s for s in summary["steps"]}
    for step in steps.values():
        assert step["in"] == step["out"] + step["filtered"] + step["dead_lettered"], step
    raw = HTTP_ORDERS + 1 + 200 + LEGACY_ROWS  # + the window closer; 200 of the CSV's 201 lines parse
    want = {}
    flow = raw
    for name in ("paid-only", "normalise", "with-customer", "per-country"):
        filtered = EXPECTED.filtered if name == "paid-only" else 0
        dead = EXPECTED.dead_at(name)
        want[name] = (flow, flow - filtered - dead, filtered, dead)
        flow -= filtered + dead
    windows = len(EXPECTED.windows)
    want["sink"] = (windows, windows, 0, 0)
    assert {n: (s["in"], s["out"], s["filtered"], s["dead_lettered"]) for n, s in steps.items()} == want
    assert steps["per-country"]["emitted"] == windows  # the closer's own window stays open
    sources = {s["name"]: (s["sent"], s["on_topic"], s["dead_lettered"]) for s in summary["sources"]}
    assert sources == {"orders-api": (HTTP_ORDERS + 1, HTTP_ORDERS + 1, 0), "orders-csv": (201, 200, 1),
                       "legacy-orders": (LEGACY_ROWS, LEGACY_ROWS, 0)}
    assert summary["warehouse"]["rows"] == windows


def test_replaying_the_loaders_input_adds_no_row(orders_run):
    _stack, run, _summary, url = orders_run
    before = _rows(url)
    again = run.replay("sink")
    run.wait_drained(timeout=60)
    counters = run.runner.counters["orders-sink"]  # the restarted runner's own counters
    assert again == len(EXPECTED.windows)
    assert (counters["events_in"], counters["triggered"], counters["dead_lettered"]) == (again, again, 0)
    after = _rows(url)
    assert after == before and len(after) == len(EXPECTED.windows)
    assert run.books().balanced
