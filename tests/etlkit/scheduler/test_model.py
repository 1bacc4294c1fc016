"""Validation of the frozen inputs (policy, observation) and of persisted state."""
import math

import pytest

from etlkit.scheduler.errors import ObservationError, PolicyError, StateError
from etlkit.scheduler.observation import Node, Observation, Operation, Pipeline, Service
from etlkit.scheduler.policy import Policy
from etlkit.scheduler.state import AddedService, ControllerState, OperationState, SourceState


@pytest.mark.parametrize(
    ("field", "value"),
    [
        pytest.param("control_period_s", 0.0, id="zero-period"),
        pytest.param("tolerance_backlog", math.inf, id="infinite-dtc"),
        pytest.param("backlog_target", 1.5, id="target-above-dtc"),
        pytest.param("safety", 0.9, id="safety-below-one"),
        pytest.param("forecast", "arima", id="unknown-forecast"),
        pytest.param("window", 0, id="empty-window"),
        pytest.param("dead_band", -0.1, id="negative-dead-band"),
        pytest.param("scale_in_hold_s", True, id="bool-is-not-a-number"),
        pytest.param("scale_in_refill_s", 0.0, id="zero-refill"),
    ],
)
def test_policy_errors_name_the_field(field, value):
    with pytest.raises(PolicyError) as caught:
        Policy(**{field: value})
    assert caught.value.field == f"policy.{field}"


def test_paper_policy_has_no_margins():
    paper = Policy.paper()
    assert (paper.backlog_target, paper.safety, paper.dead_band, paper.scale_in_hold_s,
            paper.window) == (1.0, 1.0, 0.0, 0.0, 10)
    assert paper.horizon_steps == 3.0
    assert paper.refill_s == paper.tolerance_time_s  # scale-in as symmetric as scale-out
    assert Policy.paper(tolerance_time_s=90.0).refill_s == 90.0


def test_policy_round_trips_and_rejects_unknown_fields():
    policy = Policy(window=7)
    assert Policy.from_dict(policy.to_dict()) == policy
    with pytest.raises(PolicyError) as caught:
        Policy.from_dict({"windw": 7})
    assert caught.value.field == "policy.windw"


NODE = Node("n0")


@pytest.mark.parametrize(
    ("build", "field"),
    [
        pytest.param(lambda: Node("n0", capacity=0), "nodes[n0].capacity", id="zero-capacity"),
        pytest.param(lambda: Operation("op", weight=0), "operations[op].weight",
                     id="zero-weight"),
        pytest.param(lambda: Operation("op", min_replicas=3, max_replicas=2),
                     "operations[op].max_replicas", id="max-below-min"),
        pytest.param(lambda: Operation("op", (Service("s", "n0", -1.0),)),
                     "operations[op].services[0].velocity", id="negative-velocity"),
        pytest.param(lambda: Pipeline("src", math.nan, 0.0, (Operation("op"),)),
                     "pipelines[src].production_rate", id="nan-rate"),
        pytest.param(lambda: Pipeline("src", 1.0, 0.0, ()), "pipelines[src].operations",
                     id="no-operations"),
        pytest.param(lambda: Observation((Pipeline("src", 1.0, 0.0, (
            Operation("op", (Service("s", "zz"),)),)),), (NODE,)),
            "operations[op].services[0].node", id="unknown-node"),
        pytest.param(lambda: Observation((Pipeline("src", 1.0, 0.0, (
            Operation("op", (Service("s", "n0"), Service("s", "n0"))),)),), (NODE,)),
            "operations[op].services[1].service_id", id="duplicate-service"),
        pytest.param(lambda: Observation((Pipeline("a", 1.0, 0.0, (Operation("op"),)),
                                          Pipeline("b", 1.0, 0.0, (Operation("op"),))),
                                         (NODE,)),
                     "operations[op].name", id="operation-in-two-pipelines"),
        pytest.param(lambda: Observation((), (NODE, NODE)), "nodes", id="duplicate-node"),
    ],
)
def test_observation_errors_name_the_culprit(build, field):
    with pytest.raises(ObservationError) as caught:
        build()
    assert caught.value.field == field


def test_state_round_trips_through_plain_data():
    state = ControllerState(
        {"orders": SourceState((1.0, 2.5), idle_since=30.0)},
        {"map": OperationState((AddedService("map-0", "n1", 10.0),), 1, ((10.0, 3),), 99.5)})
    assert ControllerState.from_dict(state.to_dict()) == state
    assert state.operation("unknown") == OperationState()


@pytest.mark.parametrize(
    ("data", "field"),
    [
        pytest.param([], "state", id="not-an-object"),
        pytest.param({"version": 99}, "state.version", id="unknown-version"),
        pytest.param({"version": 1, "sources": {"s": {"history": ["x"]}}}, "state.sources[s]",
                     id="history-not-numbers"),
        pytest.param({"version": 1, "sources": {"s": {"history": [math.inf]}}},
                     "state.sources[s].history", id="history-not-finite"),
        pytest.param({"version": 1, "operations": {"op": {"added": [["a", "n"]]}}},
                     "state.operations[op]", id="added-entry-too-short"),
    ],
)
def test_state_errors_name_the_field(data, field):
    with pytest.raises(StateError) as caught:
        ControllerState.from_dict(data)
    assert caught.value.field == field
