"""`faas-etl chaos --real`: its faults, its EventBus and its data path, checked offline."""
import pytest
import yaml

from devstack.chaos.cli import build_parser, config_of
from devstack.chaos.config import FAULTS, REAL_FAULTS, ChaosConfig, ChaosConfigError, schedule
from devstack.chaos.realenv import REAL_CHAOS, STREAM_MAX_MSGS, TRIGGER_TIMEOUT, chaos_eventbus
from devstack.chaos.realfaults import REAL_INJECTORS
from devstack.realargo.harness import load_eventbus


def test_real_runs_every_real_fault_by_default_in_the_issues_order():
    config = config_of(build_parser().parse_args(["--real"]))
    assert config.real and config.faults == tuple(REAL_FAULTS)
    assert list(REAL_FAULTS) == ["kill-sensor", "kill-eventsource", "fill-eventbus", "dlq-unreachable", "replay",
                                 "slow-function", "restart-broker", "restart-warehouse"]
    assert set(REAL_INJECTORS) == set(REAL_FAULTS)


def test_the_default_real_run_strikes_each_fault_once_in_order_within_five_minutes():
    plan = schedule(ChaosConfig(real=True, faults=tuple(REAL_FAULTS)))
    assert [p.fault for p in plan] == list(REAL_FAULTS)
    assert all(b.at_s - a.at_s >= 30 for a, b in zip(plan, plan[1:]))
    assert plan[-1].at_s <= 300 - 20


@pytest.mark.parametrize("faults, real", [
    pytest.param(("kill-worker",), True, id="a-stand-in-fault-on-the-real-stack"),
    pytest.param(("kill-sensor",), False, id="a-real-fault-on-the-stand-ins"),
])
def test_a_fault_of_the_other_stack_is_refused_naming_it(faults, real):
    with pytest.raises(ChaosConfigError, match=f"unknown fault '{faults[0]}'"):
        ChaosConfig(faults=faults, real=real)


def test_a_fault_keeps_its_component_on_both_stacks():
    assert ChaosConfig(faults=("restart-warehouse",), real=True).faults == ("restart-warehouse",)
    assert FAULTS["restart-warehouse"] == REAL_FAULTS["restart-warehouse"] == "warehouse"


def test_the_chaos_eventbus_is_the_committed_one_with_a_message_limit():
    committed, chaos = load_eventbus(), chaos_eventbus()
    stream = yaml.safe_load(chaos["spec"]["jetstream"]["streamConfig"])
    expected = {**yaml.safe_load(committed["spec"]["jetstream"]["streamConfig"]), "maxMsgs": STREAM_MAX_MSGS}
    assert stream == expected
    # interest retention, discard new: a full stream refuses rather than drops the oldest
    assert (stream["retention"], stream["discard"]) == (1, 1)
    rest = {k: v for k, v in chaos["spec"]["jetstream"].items() if k != "streamConfig"}
    assert rest == {k: v for k, v in committed["spec"]["jetstream"].items() if k != "streamConfig"}
    assert chaos["metadata"] == committed["metadata"]


def test_the_real_data_path_only_shortens_the_trigger_timeout(tmp_path):
    from devstack.chaos.workflow import CHAOS

    real, stand_in = REAL_CHAOS.definition(), CHAOS.definition()
    assert real["delivery"]["timeout"] == TRIGGER_TIMEOUT != stand_in["delivery"]["timeout"]
    real["delivery"].pop("timeout"), stand_in["delivery"].pop("timeout")
    assert real == stand_in
    REAL_CHAOS.write_manifests(tmp_path, ["ingest", "map", "warehouse-loader"])
    sensors = [d for f in sorted((tmp_path / "argo-events").rglob("*.yaml"))
               for d in yaml.safe_load_all(f.read_text()) if d and d.get("kind") == "Sensor"]
    timeouts = {t["template"]["http"].get("timeout") for s in sensors for t in s["spec"]["triggers"]
                if "http" in t["template"]}
    assert timeouts == {10}
