"""The main job of `make run`: the sample ``orders`` workflow on the embedded stack, end to end.

Three sources feed ``orders-raw``: orders POSTed to the ingest function, ``workflows/data/
orders.csv`` streamed by the file-source function, and the ``legacy_orders`` table (seeded here
into the warehouse database) pulled by the sql-source function on the runner's calendar ticks.
The committed Argo Events manifests carry them through filter -> map -> enrich -> aggregate
into the ``orders_by_country`` table. The books are then read back from every topic and the
warehouse, and the run succeeds only when they balance (:mod:`devstack.pipeline.books`).

The generated orders are seeded (the same every run) and all fall in 2024-06-01 09:00-10:00 UTC,
like the CSV, so sources share windows; a few are bad on purpose (one per kind of failure the
steps dead-letter). Once every source is drained, the run ends ``orders-raw`` through the ingest
function (``?end=true``): every partition says its input is over, the steps pass that on, and the
aggregate emits every window, the last ones too, into the warehouse. No record is made up to close
them.

The stack is the real components (Apache Kafka, the real Argo Events processes on a nats-server
EventBus: :mod:`.realstack`) or the stand-ins (Tansu, the local Argo runner), as
:func:`.stackchoice.choose_stack` decides from ``--real`` / ``--stand-in`` / neither (the real
ones when every part is here); the summary says which. The real Sensors call a function once per
record, so their sample is smaller (``SAMPLE_SIZES``), to finish in about a minute.
"""
from __future__ import annotations

import json
import logging
import os
import pathlib
import random
import shutil
import sys
import time
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any, Callable, Sequence

from etlkit.warehouse import redact_url
from etlkit.workflow import Workflow, load_workflow

from .localstack import LocalStack
from .pipeline.run import WorkflowRun
from .pipeline.sqldb import create_table
from .pipeline.summary import render_summary, summary_of
from .realstack import choose_here, started_stack
from .stackchoice import AUTO, REAL, STAND_IN, StackChoice, describe_stack, stack_versions

REPO = pathlib.Path(__file__).resolve().parent.parent
WORKFLOW = REPO / "workflows" / "orders.yaml"
SAMPLE_START_MS = 1_717_232_400_000  # 2024-06-01T09:00:00Z: the hour of workflows/data/orders.csv
SAMPLE_SPAN_S = 3600
CUSTOMERS = [f"C{i:03d}" for i in range(1, 26)]  # the ids of workflows/data/customers.csv
STATUSES = (("paid", 50), ("shipped", 25), ("pending", 15), ("cancelled", 10))
LEGACY_COLUMNS = (("order_id", "text"), ("customer_id", "text"), ("amount", "real"),
                  ("quantity", "integer"), ("status", "text"), ("ordered_at", "text"),
                  ("updated_at", "integer"))
# One of each failure, every BAD_EVERY records; paid, so no filter hides it.
HTTP_FAULTS = ({"cust_id": "C404"}, {"amount": "n/a"}, {"ordered_at": "soon"}, {"quantity": 0})
LEGACY_FAULTS = ({"customer_id": "C777"}, {"ordered_at": None})
BAD_EVERY = 50
# (orders POSTed, legacy rows) of `faas-etl run` per stack. The real Sensors call a function once
# per record (the stand-in runner sends up to 500 per call): 35-85 source records/s end to end
# on 2 cores shared with other test runs (load 20-50), against 400+ on the stand-ins, and ~16 s
# to start and stop the real parts. 1000 + 200 (+ the 200 CSV lines) finish in 35-60 s.
SAMPLE_SIZES = {STAND_IN: (2000, 300), REAL: (1000, 200)}


def iso(ms: int) -> str:
    return datetime.fromtimestamp(ms / 1000, timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def _order(rng: random.Random) -> dict[str, Any]:
    statuses, weights = zip(*STATUSES)
    return {"cust_id": rng.choice(CUSTOMERS), "amount": round(rng.uniform(5, 300), 2),
            "quantity": rng.randint(1, 5), "status": rng.choices(statuses, weights)[0],
            "ordered_at": iso(SAMPLE_START_MS + rng.randrange(SAMPLE_SPAN_S) * 1000)}


def http_orders(count: int, seed: int = 7) -> list[dict[str, Any]]:
    """``count`` orders H00001.. for the ingest function; every BAD_EVERY-th one is bad."""
    rng, out = random.Random(seed), []
    for i in range(count):
        order = {"order_id": f"H{i + 1:05d}", **_order(rng)}
        if i % BAD_EVERY == BAD_EVERY - 1:
            order.update(status="paid", **HTTP_FAULTS[(i // BAD_EVERY) % len(HTTP_FAULTS)])
        out.append(order)
    return out


def legacy_rows(count: int, seed: int = 11) -> list[tuple]:
    """``count`` rows L00001.. of ``legacy_orders`` (LEGACY_COLUMNS order); some bad."""
    rng, out = random.Random(seed), []
    for i in range(count):
        order = _order(rng)
        row = {"order_id": f"L{i + 1:05d}", "customer_id": order["cust_id"], "amount": order["amount"],
               "quantity": order["quantity"], "status": order["status"], "ordered_at": order["ordered_at"],
               "updated_at": SAMPLE_START_MS + i}
        if i % BAD_EVERY == BAD_EVERY - 1:
            row.update(status="shipped", **LEGACY_FAULTS[(i // BAD_EVERY) % len(LEGACY_FAULTS)])
        out.append(tuple(row[name] for name, _ in LEGACY_COLUMNS))
    return out


@dataclass(frozen=True)
class Sample:
    http: list[dict[str, Any]]
    legacy: list[tuple]

    @classmethod
    def of(cls, http_records: int, legacy_count: int) -> "Sample":
        return cls(http_orders(http_records), legacy_rows(legacy_count))


def drive_orders(run: WorkflowRun, sample: Sample, *, batch: int = 500) -> tuple[int, float]:
    """Seed, start, feed every source, wait, end the input, wait. Returns the source records
    and the seconds from the first one sent until every consumer group had caught up (before
    the end of input, whose last windows are not the sources' throughput)."""
    create_table(run.warehouse_url, "legacy_orders", LEGACY_COLUMNS, sample.legacy, key="order_id",
                 secrets_dir=run.stack.secrets_dir)
    run.expect_table("legacy-orders")
    run.start()
    run.say(f"sending {len(sample.http)} orders to ingest, streaming orders.csv; "
            f"{len(sample.legacy)} legacy rows wait for the next tick")
    run.post("orders-api", sample.http, batch)
    run.stream_file("orders-csv")
    run.wait_drained()
    records, seconds = run.sent(), time.monotonic() - (run.first_record_at or time.monotonic())
    # Only now, with every source's records on orders-raw: an end before the SQL rows came would
    # close windows they belong to, and they would be dead-lettered as late.
    run.end_inputs()
    run.wait_drained()
    return records, seconds


def run_orders(stack: LocalStack, warehouse_url: str, sample: Sample, *, batch: int = 500,
               say: Callable[[str], None] = lambda m: None, workflow: Workflow | None = None,
               operations: Sequence[str] | None = None, runner_factory: Callable | None = None,
               notes: Sequence[str] = ()) -> tuple[WorkflowRun, dict]:
    """The whole sample run on a started stack; the run (still running, for more checks) and its
    summary. The caller closes the run. ``operations``: only those Sensors (None: every Sensor
    whose functions are deployed, the autoscaler's too); ``runner_factory``: what runs them
    (None: the local runner; :attr:`.realstack.RealParts.runner_factory`: the real processes)."""
    workflow = workflow or load_workflow(WORKFLOW)
    run = WorkflowRun(stack, workflow, warehouse_url=warehouse_url, say=say,
                      runner_factory=runner_factory).prepare(operations)
    started = time.monotonic()
    try:
        records, seconds = drive_orders(run, sample, batch=batch)
        books = run.books()
    except BaseException:
        run.close()
        raise
    summary = summary_of(workflow.name, books, table=workflow.sink.table, warehouse=redact_url(warehouse_url),
                         elapsed_s=time.monotonic() - started, throughput=(records, seconds),
                         skipped=run.skipped, runner=run.runner.counters if run.runner else {},
                         notes=["the input ends once every source is drained (ingest ?end=true on "
                                f"{', '.join(sorted(run.ended))}): every window is emitted, the last ones too",
                                *notes])
    return run, summary


def stack_summary(choice: StackChoice, versions: dict[str, str]) -> dict[str, str]:
    """The summary's ``stack`` entry: which stack ran (``kind``, ``name``) and why (``reason``)."""
    return {"kind": choice.kind, "name": describe_stack(choice.kind, versions), "reason": choice.message}


def render_run(summary: dict) -> str:
    """:func:`render_summary`, with the ``stack:`` line under the verdict."""
    lines = render_summary(summary).split("\n")
    if "stack" in summary:
        lines.insert(1, f"stack: {summary['stack']['name']}")
    return "\n".join(lines)


def sample_note(kind: str, records: int, legacy: int) -> str:
    """Why the real stack's sample is the size it is (said on stderr and in the summary's notes)."""
    full = SAMPLE_SIZES[STAND_IN]
    return (f"real components: {records} orders and {legacy} legacy rows (the stand-ins take {full[0]} and "
            f"{full[1]}): a real Sensor calls its function once per record, so this runs about a minute; "
            "--records and --legacy-rows change it") if kind == REAL else ""


def run_demo(records: int | None = None, legacy: int | None = None, batch: int = 500, as_json: bool = False,
             mode: str = AUTO, kafka_nodes: int = 1) -> int:
    """`make run`: the sample on the stack ``mode`` chooses (:func:`choose_stack`); exit 1 when
    ``--real`` cannot run here (naming what is missing) or the books do not balance.
    ``kafka_nodes``: Apache Kafka's nodes on the real components (1 or 3)."""
    say = lambda msg: print(f"==> {msg}", file=sys.stderr, flush=True)  # noqa: E731
    logging.basicConfig(level=logging.WARNING, stream=sys.stderr,
                        format="%(asctime)s %(levelname)s %(name)s %(message)s")
    choice = choose_here(mode)
    if not choice.runnable:
        print(f"faas-etl run: {choice.message}", file=sys.stderr, flush=True)
        return 1
    say(choice.message)
    records = SAMPLE_SIZES[choice.kind][0] if records is None else records
    legacy = SAMPLE_SIZES[choice.kind][1] if legacy is None else legacy
    note = sample_note(choice.kind, records, legacy)
    if note:
        say(note)
    # Each run starts clean: a previous run's aggregate state, SQL cursor and warehouse rows
    # would otherwise make this run's records late, skipped or already there.
    run_dir = pathlib.Path(os.getenv("FAAS_ETL_RUN_DIR") or REPO / ".run") / "workflow-orders"
    shutil.rmtree(run_dir, ignore_errors=True)
    with started_stack(choice.kind == REAL, run_dir, say=say, kafka_nodes=kafka_nodes,
                       kafka_data=run_dir / "kafka") as (stack, runner_factory):
        run = None
        try:
            run, summary = run_orders(stack, f"sqlite:///{run_dir / 'warehouse.db'}", Sample.of(records, legacy),
                                      batch=batch, say=say, runner_factory=runner_factory,
                                      notes=[note] if note else [])
        finally:
            say("stopping the runner and the stack")
            if run is not None:
                run.close()
    summary["stack"] = stack_summary(choice, stack_versions(choice.kind))
    print(json.dumps(summary) if as_json else "\n" + render_run(summary), flush=True)
    return 0 if summary["ok"] else 1
