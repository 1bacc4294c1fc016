"""Issue 3's Runner end to end: the orders workflow started, stopped and started again through the
workflow-manager's REST API, on the embedded stack.

Real parts only: the Tansu broker, the local gateway, the functions' worker processes (ingest,
workflow-manager, the four step functions, the warehouse loader) and the local reconciler that
``faas-etl up`` starts (devstack.argo.supervisor), which runs what the workflow-manager applies
with the local Argo Events runner. Every call goes through the gateway.

1. The orders workflow is stored (``POST /workflows``) and started (``POST .../run``): its topics
   exist when the start answers, and the reconciler brings the run to ``running`` (the Sensors of
   functions this stack does not deploy, the autoscaler and sql-source, are reported skipped).
2. Orders go in through ingest; an end of input (``?end=true``, no record) ends every partition
   of orders-raw and the aggregate's windows close; rows land in the warehouse; ``GET .../run``
   counts every step's records and reports the backlog.
3. ``DELETE .../run``: new orders arrive, and no consumer group moves (offsets compared exactly);
   the status shows them as the first step's backlog.
4. ``POST .../run`` again: the run resumes from the committed offsets and delivers the rest;
   a second end of input closes the new windows (a new run of the input after the first end):
   every record of orders-raw committed once, the new windows in the warehouse, nothing lost.
"""
from __future__ import annotations

import sqlite3
import time
from datetime import datetime, timezone

import pytest

from devstack.argo.supervisor import Supervisor
from devstack.localstack import LocalStack
from etlkit.controller.kafka_offsets import KafkaOffsets
from tests.conftest import REPO
from tests.devstack.argo.stack_helpers import DEFAULT_HEARTBEAT_SESSION_TIMEOUT_MS, wait_for

from .expected import customers

# An end-to-end module of minutes: handed to a worker first (tests/conftest.py).
pytestmark = pytest.mark.slow

FUNCTIONS = ["ingest", "workflow-manager", "filter", "map", "enrich", "aggregate", "warehouse-loader"]
ORDERS = (REPO / "workflows" / "orders.yaml").read_text()
T0_MS = 1_767_261_600_000  # 2026-01-01T10:00:00Z
HOUR_MS = 3_600_000
CUSTOMERS = sorted(customers())
GROUPS = {f"faas-etl.orders.{t}": t for t in ("orders-raw", "orders-paid", "orders-clean",
                                              "orders-enriched", "orders-by-country")}


def _iso(ms: int) -> str:
    return datetime.fromtimestamp(ms / 1000, timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def _orders(prefix: str, count: int, at_ms: int) -> list[dict]:
    """Paid orders of known customers, all in the minute starting at ``at_ms``."""
    return [{"order_id": f"{prefix}{i:04d}", "cust_id": CUSTOMERS[i % len(CUSTOMERS)],
             "amount": 10.0 + i, "quantity": 1 + i % 3, "status": "paid", "ordered_at": _iso(at_ms + i * 1000)}
            for i in range(count)]


def _countries(orders: list[dict]) -> set[str]:
    by_customer = customers()
    return {by_customer[o["cust_id"]] for o in orders}


@pytest.fixture(scope="module")
def stack(tmp_path_factory):
    """The functions the orders data path needs, and the reconciler `faas-etl up` starts."""
    stack = LocalStack(run_dir=tmp_path_factory.mktemp("runs-e2e"), functions=FUNCTIONS)
    supervisor = None
    try:
        stack.up()
        supervisor = Supervisor(stack.run_dir, stack.bootstrap, stack.url, stack.credentials,
                                interval_s=0.2,
                                session_timeout_ms=DEFAULT_HEARTBEAT_SESSION_TIMEOUT_MS).start()
        yield stack
    finally:
        if supervisor is not None:
            supervisor.stop()
        stack.down()


class Api:
    """The workflow-manager through the gateway, and the stack's Kafka and warehouse read back."""

    def __init__(self, stack: LocalStack):
        self.stack, self.http = stack, stack.session()
        self.base = f"{stack.url}/function/workflow-manager"
        self.offsets = KafkaOffsets(stack.bootstrap)

    def call(self, method: str, path: str, **kw):
        return self.http.request(method, f"{self.base}{path}", timeout=60, **kw)

    def status(self) -> dict:
        resp = self.call("GET", "/workflows/orders/run")
        assert resp.status_code == 200, resp.text
        return resp.json()

    def ingest(self, orders: list[dict]) -> None:
        resp = self.http.post(f"{self.stack.url}/function/ingest/orders-raw?key=order_id&source=orders-api",
                              json=orders, timeout=60)
        assert resp.status_code == 200 and resp.json()["accepted"] == len(orders), resp.text

    def end_input(self) -> None:
        """orders-raw's input is over: every partition ends (no Idempotency-Key: each end is a
        new one, not a retry of the one before)."""
        resp = self.http.post(f"{self.stack.url}/function/ingest/orders-raw?end=true", timeout=60)
        assert resp.status_code == 200 and resp.json()["end"] is True, resp.text

    def committed(self) -> dict[str, dict[int, int | None]]:
        ends = self.offsets.end_offsets(sorted(set(GROUPS.values())))
        return {g: self.offsets.committed(g, t, sorted(ends[t].high)) for g, t in GROUPS.items()}

    def messages(self, topic: str) -> int:
        """Messages on ``topic``: the functions write record batches, so offsets, lags and a
        Sensor's events count messages, not records."""
        return sum(self.offsets.end_offsets([topic])[topic].high.values())

    def rows(self) -> int:
        with sqlite3.connect(self.stack.run_dir / "warehouse.db") as db:
            try:
                return db.execute("SELECT count(*) FROM orders_by_country").fetchone()[0]
            except sqlite3.OperationalError:  # no table before the first window lands
                return 0

    def wait_running(self) -> dict:
        wait_for(lambda: self.status()["state"] == "running", 30, "the run to be running")
        return self.status()

    def wait_step(self, step: str, records_in: int) -> dict:
        """Until ``step`` counted ``records_in`` records in and its input backlog is 0."""
        def done():
            (got,) = [s for s in self.status()["steps"] if s["name"] == step]
            return got["records"]["in"] == records_in and got["inputs"][0]["backlog"] == 0
        wait_for(done, 90, f"{step} to take {records_in} records")
        return self.status()


def test_orders_run_started_stopped_and_resumed_through_the_rest_api_loses_nothing(stack):
    api = Api(stack)
    first, second = _orders("A", 40, T0_MS), _orders("B", 30, T0_MS + 3 * HOUR_MS)

    # 1. Stored, started: topics exist when the start answers; the reconciler makes it run.
    assert api.call("POST", "/workflows", data=ORDERS).status_code == 201
    resp = api.call("POST", "/workflows/orders/run")
    assert resp.status_code == 202, resp.text
    assert resp.json()["name"] == "orders" and resp.json()["version"] == 1
    api.ingest(first)  # accepted at once: orders-raw was created before the answer
    running = api.wait_running()
    assert {s["sensor"] for s in running["skipped"]} == {"orders-autoscaler", "orders-legacy-orders"}
    assert api.call("POST", "/workflows/orders/run").status_code == 200  # same version: nothing to do
    assert [r["name"] for r in api.call("GET", "/runs").json()] == ["orders"]

    # 2. Data flows: the windows of the first orders close and land; every step counts.
    api.wait_step("per-country", len(first))
    api.end_input()
    wait_for(lambda: api.rows() == len(_countries(first)), 30, "the first windows in the warehouse")
    status = api.wait_step("sink", len(_countries(first)))
    records = {s["name"]: s["records"] for s in status["steps"]}
    assert records["paid-only"] == {"in": 40, "out": 40, "filtered": 0, "dead_lettered": 0, "emitted": 40}
    assert records["with-customer"]["out"] == 40
    assert records["per-country"]["emitted"] == len(_countries(first))
    assert all(s["inputs"][0]["backlog"] == 0 for s in status["steps"])
    assert status["sensors"]["orders-paid-only"]["events_in"] == api.messages("orders-raw")
    assert status["started_at"] and status["errors"] == {}

    # 3. Stopped: new orders arrive, no group moves; they wait as the first step's backlog.
    resp = api.call("DELETE", "/workflows/orders/run")
    assert resp.status_code == 200 and len(resp.json()["removed"]) == 13
    wait_for(lambda: api.status()["state"] == "stopped", 30, "the run to stop")
    before, on_topic = api.committed(), api.messages("orders-raw")
    api.ingest(second)
    time.sleep(2.0)  # several poll intervals of a runner, were one still running
    assert api.committed() == before
    stopped = api.status()
    assert stopped["state"] == "stopped" and stopped["sensors"] == {}
    assert 0 < stopped["steps"][0]["inputs"][0]["backlog"] == api.messages("orders-raw") - on_topic <= len(second)
    assert api.call("GET", "/runs").json() == []

    # 4. Started again: it resumes where it stopped and delivers the rest, once.
    resp = api.call("POST", "/workflows/orders/run")
    assert resp.status_code == 202, resp.text
    api.wait_running()
    api.wait_step("per-country", len(first) + len(second))
    api.end_input()
    want_rows = len(_countries(first)) + len(_countries(second))
    # The restarted run's lanes (a group member each) rejoin their groups first: more time.
    wait_for(lambda: api.rows() == want_rows, 90, "the second windows in the warehouse")
    status = api.wait_step("sink", want_rows)
    committed = api.committed()
    produced = len(first) + len(second)
    assert sum(committed["faas-etl.orders.orders-raw"].values()) == api.messages("orders-raw")
    paid = {s["name"]: s for s in status["steps"]}["paid-only"]
    assert paid["records"]["in"] == produced and paid["inputs"][0]["backlog"] == 0
    api.offsets.close()
