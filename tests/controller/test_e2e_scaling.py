"""The must-show end to end: the autoscaler, ticked by the calendar EventSource, scales the
filter's worker processes through a 5x surge of the sample workflow's load and back, keeping
the backlog within DTC once the tolerance time has passed; the same load with one fixed replica
does not. About a minute and a half (two fresh stacks; ~50 s of load autoscaled, the fixed run's
load stopped where its backlog peaks, the surge's end, and one replica's capacity measured on
300-record bursts: `make bench` runs the whole fixed run on 600); the plot and the numbers go
to reports/controller-e2e.png and .json (see bench/bench_controller.py for the setup)."""
import pytest

from bench import bench_controller as e2e

pytestmark = pytest.mark.slow


def test_a_surge_is_absorbed_by_scaling_out_and_back_in(tmp_path):
    report = e2e.compare(tmp_path, say=print, burst=300, fixed_to_peak_end=True)
    fixed, auto = report["fixed"], report["autoscaled"]
    print({"fixed": fixed, "autoscaled": auto, "capacity_one": report["capacity_one_replica"]})
    # Scaled out for the surge and back in after it, through ticks of the calendar source.
    assert auto["max_replicas"] >= 2 and auto["final_replicas"] < auto["max_replicas"]
    assert any(t["actions"] for t in report["ticks"])
    # Within DTC once DTT has passed since the surge began; the fixed replica falls further behind.
    assert auto["max_backlog_after_dtt"] <= e2e.DTC
    assert fixed["max_backlog"] > auto["max_backlog"]
    # The fixed run went through the whole surge: its backlog peaked at the surge's end.
    assert max(s["t"] for s in report["samples"]["fixed"]) >= report["profile"]["base_s"] + \
        report["profile"]["peak_s"] - 1.5
    assert fixed["max_replicas"] == fixed["final_replicas"] == 1
    assert (e2e.REPORTS / "controller-e2e.png").stat().st_size > 10_000
