"""The Runner's sequence over a dict-backed backend: starts, moves, refusals, undo, stop, status."""
from __future__ import annotations

import pytest

from etlkit.controller.errors import EdgeError
from etlkit.runs import ApplyFailed, AppliedRun, Edges, RunFailed, RunRefused, Runs, Runtime
from etlkit.runs.documents import WIRING, applied_version
from tests.etlkit.controller.fakes import Topics

from .conftest import ORDERS, ORDERS_V2


class MemoryBackend:
    """Applied documents per workflow in a dict; ``refuse`` holds (ref, version) pairs it fails at."""

    def __init__(self):
        self.docs: dict[str, dict] = {}
        self.refuse: set[tuple[str, int]] = set()
        self.applies = 0
        self.runtime = Runtime("running")

    def apply(self, workflow, documents):
        self.applies += 1
        mine = self.docs.setdefault(workflow, {})
        for doc in documents:
            if (doc.ref, applied_version([doc])) in self.refuse:
                raise ApplyFailed(doc.ref, "HTTP 409 Conflict: exists")
            mine[doc.ref] = doc
        for ref in [r for r, d in mine.items() if d.kind in WIRING and r not in {x.ref for x in documents}]:
            del mine[ref]

    def delete(self, workflow):
        mine = self.docs.get(workflow, {})
        gone = sorted(r for r, d in mine.items() if d.kind in WIRING)
        for ref in gone:
            del mine[ref]
        return tuple(gone)

    def applied(self, workflow=None):
        out = {}
        for name, mine in self.docs.items():
            wired = tuple(d for d in mine.values() if d.kind in WIRING)
            if wired and workflow in (None, name):
                out[name] = AppliedRun(name, wired, self.runtime)
        return out


class Records:
    def __init__(self, values=None, down=False):
        self.values, self.down = values or {}, down

    def records(self, workflow):
        if self.down:
            raise EdgeError("gateway", "GET /system/functions: ConnectionError")
        return self.values


@pytest.fixture
def runs(configs):
    backend, topics = MemoryBackend(), Topics(partitions=2)
    runs = Runs(configs, backend, Edges(Records(), lambda: topics), now=lambda: "2026-01-01T00:00:00Z")
    return runs, backend, topics


def test_a_start_applies_the_latest_version_and_a_second_start_is_idempotent(runs, configs):
    runs, backend, _ = runs
    configs.create(ORDERS)
    status, answer = runs.start("orders")
    assert (status, answer["version"], answer["state"]) == (202, 1, "running")
    assert applied_version(backend.docs["orders"].values()) == 1
    assert sum(d.kind == "KafkaTopic" for d in backend.docs["orders"].values()) == 6
    again, answer = runs.start("orders")
    assert (again, answer["reason"], backend.applies) == (200, "already running version 1", 1)


def test_a_start_of_another_version_moves_the_run(runs, configs):
    runs, backend, _ = runs
    configs.create(ORDERS)
    runs.start("orders")
    configs.update("orders", ORDERS_V2, 1)
    status, answer = runs.start("orders")
    assert (status, answer["reason"]) == (202, "running version 1: move to version 2")
    sensors = {d.name for d in backend.docs["orders"].values() if d.kind == "Sensor"}
    assert "orders-legacy-orders" not in sensors  # version 2 has no legacy table
    assert runs.start("orders", 1)[1]["version"] == 1  # and back, on request
    assert "orders-legacy-orders" in {d.name for d in backend.docs["orders"].values()}


@pytest.mark.parametrize(("setup", "status", "message"), [
    pytest.param([], 404, "name: no workflow 'orders'", id="unknown"),
    pytest.param(["create", "delete"], 409, "name: workflow 'orders' was deleted at version 2; create it "
                                           "again to run it", id="deleted"),
])
def test_a_start_that_cannot_be_done_is_refused_and_nothing_applied(runs, configs, setup, status, message):
    runs, backend, _ = runs
    if "create" in setup:
        configs.create(ORDERS)
    if "delete" in setup:
        configs.delete("orders", 1)
    with pytest.raises(RunRefused) as err:
        runs.start("orders")
    assert (err.value.status, str(err.value)) == (status, message)
    assert backend.applies == 0


def test_a_start_failing_midway_removes_what_it_applied(runs, configs):
    runs, backend, _ = runs
    configs.create(ORDERS)
    backend.refuse.add(("Sensor/orders-per-country", 1))
    with pytest.raises(RunFailed) as err:
        runs.start("orders")
    answer = err.value.to_dict()
    assert answer["error"] == "Sensor/orders-per-country: HTTP 409 Conflict: exists"
    assert answer["undone"].startswith("removed what this start applied: Sensor/orders-autoscaler, ")
    assert "Sensor/orders-normalise" in answer["undone"]  # applied before the failure, then removed
    assert "EventSource/" not in answer["undone"]  # none applied: nothing published with a Sensor missing
    assert runs.backend.applied("orders") == {}
    assert runs.status("orders")["state"] == "stopped"


def test_a_move_failing_midway_restores_the_version_that_ran(runs, configs):
    runs, backend, _ = runs
    configs.create(ORDERS)
    runs.start("orders")
    before = {ref: doc.body for ref, doc in backend.docs["orders"].items()}
    configs.update("orders", ORDERS_V2, 1)
    backend.refuse.add(("Sensor/orders-sink", 2))
    with pytest.raises(RunFailed) as err:
        runs.start("orders")
    assert err.value.to_dict()["undone"] == "restored what ran before (version 1)"
    assert {ref: doc.body for ref, doc in backend.docs["orders"].items()} == before


def test_stop_removes_the_wiring_keeps_the_topics_and_is_idempotent(runs, configs):
    runs, backend, _ = runs
    configs.create(ORDERS)
    runs.start("orders")
    answer = runs.stop("orders")
    assert answer["state"] == "stopped"
    assert len(answer["removed"]) == 13 and answer["removed"][0] == "EventSource/orders-orders-by-country"
    assert {d.kind for d in backend.docs["orders"].values()} == {"KafkaTopic"}
    assert runs.stop("orders")["removed"] == []
    with pytest.raises(RunRefused):
        runs.stop("nope")


def test_status_reports_counters_and_backlog_per_step(runs, configs):
    runs, backend, topics = runs
    configs.create(ORDERS)
    runs.start("orders")
    runs.edges.records.values = {"paid-only": {"in": 9, "out": 5, "filtered": 3, "dead_lettered": 1}}
    topics.produce("orders-raw", 10)
    topics.consume("faas-etl.orders.orders-raw", "orders-raw", 9)
    status = runs.status("orders")
    assert (status["state"], status["version"], status["started_at"]) == ("running", 1, "2026-01-01T00:00:00Z")
    paid = status["steps"][0]
    assert paid["records"] == {"in": 9, "out": 5, "filtered": 3, "dead_lettered": 1, "emitted": 0}
    assert paid["inputs"][0]["backlog"] == 1
    assert status["errors"] == {}


def test_status_names_the_edges_that_did_not_answer_and_answers_the_rest(runs, configs):
    runs, _, topics = runs
    configs.create(ORDERS)
    runs.edges.records.down = True
    topics.down = True
    status = runs.status("orders")
    assert status["state"] == "stopped" and status["version"] == 1
    assert set(status["errors"]) == {"records", "kafka"}
    assert status["errors"]["records"].startswith("gateway: ")
    assert [s["records"] for s in status["steps"]] == [None] * 5


def test_list_shows_every_applied_run(runs, configs):
    runs, _, _ = runs
    configs.create(ORDERS)
    assert runs.list() == []
    runs.start("orders")
    assert runs.list() == [{"name": "orders", "version": 1, "state": "running",
                            "started_at": "2026-01-01T00:00:00Z"}]
