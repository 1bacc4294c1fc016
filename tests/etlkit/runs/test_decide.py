"""The Runner's pure decisions: which version runs, whether a start applies, each step's status."""
import pytest

from etlkit.controller.ports import TopicOffsets
from etlkit.runs.backend import AppliedRun, Runtime
from etlkit.runs.decide import RunRefused, choose_version, decide_start, inputs, step_statuses
from etlkit.workflow import VersionRecord, parse_workflow

from .conftest import ORDERS, documents_of

LIVE = [VersionRecord("orders", 1, "v1", 0), VersionRecord("orders", 2, "v2", 0)]
DELETED = [*LIVE, VersionRecord("orders", 3, None, 0)]
RECREATED = [*DELETED, VersionRecord("orders", 4, "v4", 0)]


@pytest.mark.parametrize(("history", "requested", "version"), [
    pytest.param(LIVE, None, 2, id="latest-by-default"),
    pytest.param(LIVE, 1, 1, id="an-older-version-on-request"),
    pytest.param(RECREATED, 2, 2, id="a-version-before-a-deletion-once-recreated"),
])
def test_choose_version(history, requested, version):
    assert choose_version("orders", history, requested).version == version


@pytest.mark.parametrize(("history", "requested", "status", "message"), [
    pytest.param([], None, 404, "name: no workflow 'orders'", id="never-stored"),
    pytest.param(LIVE, 7, 404, "version: workflow 'orders' has no version 7 (latest is 2)", id="no-such-version"),
    pytest.param(DELETED, None, 409, "name: workflow 'orders' was deleted at version 3; create it again to "
                                     "run it", id="deleted"),
    pytest.param(DELETED, 1, 409, "name: workflow 'orders' was deleted at version 3; create it again to "
                                  "run it", id="deleted-even-an-older-version"),
    pytest.param(RECREATED, 3, 409, "version: version 3 of workflow 'orders' is a deletion, not a definition",
                 id="the-deletion-marker"),
])
def test_choose_version_refuses_naming_field_and_rule(history, requested, status, message):
    with pytest.raises(RunRefused) as err:
        choose_version("orders", history, requested)
    assert (err.value.status, str(err.value)) == (status, message)


def _applied(version, state="running", reason=""):
    return AppliedRun("orders", documents_of(ORDERS, version), Runtime(state, reason))


@pytest.mark.parametrize(("current", "apply", "status", "reason"), [
    pytest.param(None, True, 202, "not running: start version 2", id="not-running"),
    pytest.param(AppliedRun("orders", (), Runtime("stopping")), True, 202, "not running: start version 2",
                 id="still-stopping-counts-as-not-running"),
    pytest.param(_applied(2), False, 200, "already running version 2", id="same-version-is-idempotent"),
    pytest.param(_applied(2, "starting"), False, 200, "already running version 2", id="same-version-starting"),
    pytest.param(_applied(1), True, 202, "running version 1: move to version 2", id="move"),
    pytest.param(_applied(2, "failed", "no runnable Sensor"), True, 202,
                 "version 2 failed (no runnable Sensor): start it again", id="failed-is-started-again"),
])
def test_decide_start(current, apply, status, reason):
    plan = decide_start(2, current)
    assert (plan.apply, plan.status, plan.reason) == (apply, status, reason)


def test_a_half_moved_run_is_applied_again():
    mixed = documents_of(ORDERS, 1)[:-1] + documents_of(ORDERS, 2)[-1:]
    plan = decide_start(2, AppliedRun("orders", mixed, Runtime("running")))
    assert (plan.apply, plan.reason) == (True, "applied documents of mixed versions: apply version 2")


def test_step_statuses_count_and_measure_each_input_by_hand():
    workflow = parse_workflow(ORDERS)
    records = {"paid-only": {"in": 10, "out": 6, "filtered": 3, "dead_lettered": 1, "emitted": 6},
               "sink": {"in": 2, "out": 2}}
    ends = {"orders-raw": TopicOffsets({0: 7, 1: 5}, {0: 0, 1: 2}),
            "orders-paid": TopicOffsets({0: 6}, {0: 0})}
    committed = {("faas-etl.orders.orders-raw", "orders-raw"): {0: 4, 1: None},  # p1: from its low mark
                 ("faas-etl.orders.orders-paid", "orders-paid"): {0: 6}}
    steps = {s["name"]: s for s in step_statuses(workflow, records, ends, committed)}
    assert list(steps) == ["paid-only", "normalise", "with-customer", "per-country", "sink"]
    paid = steps["paid-only"]
    assert (paid["function"], paid["sensor"]) == ("filter", "orders-paid-only")
    assert paid["records"] == {"in": 10, "out": 6, "filtered": 3, "dead_lettered": 1, "emitted": 6}
    assert paid["inputs"] == [{"topic": "orders-raw", "consumer_group": "faas-etl.orders.orders-raw",
                               "backlog": 3 + 3, "partitions": {"0": 3, "1": 3}}]
    assert steps["normalise"]["inputs"][0]["backlog"] == 0
    assert steps["normalise"]["records"] == dict.fromkeys(["in", "out", "filtered", "dead_lettered", "emitted"], 0)
    assert steps["sink"]["records"]["in"] == 2
    # A topic the offsets did not cover: unknown, not zero.
    assert steps["with-customer"]["inputs"][0]["backlog"] is None


def test_unmeasured_counters_are_none_not_zero():
    steps = step_statuses(parse_workflow(ORDERS), None, {}, {})
    assert {s["records"] is None for s in steps} == {True}


def test_inputs_name_the_groups_the_sensors_commit_under():
    got = [(i.operation, i.topic, i.group) for i in inputs(parse_workflow(ORDERS))]
    assert got[0] == ("paid-only", "orders-raw", "faas-etl.orders.orders-raw")
    assert got[-1] == ("sink", "orders-by-country", "faas-etl.orders.orders-by-country")
    assert len(got) == 5
