"""The evaluation end to end on a tiny configuration, plus its parts' sanity."""
import json

import pytest

from devstack.evaluation import cli
from devstack.evaluation.forecast_eval import forecast_errors
from devstack.evaluation.goals import Goal, policy_goals, ratio, summarise
from devstack.evaluation.matching_eval import matching_scores
from devstack.evaluation.plant import default_nodes
from devstack.evaluation.runner import EvaluationSettings, RunMetrics, evaluate

POLICIES = ["provision-max", "provision-average", "paper-rule", "ours", "hpa-style",
            "keda-style"]
TINY = ["--curves", "2", "--duration-s", "400", "--jobs", "1", "--matching-instances", "2",
        "--quiet"]


def test_a_tiny_run_writes_the_table_json_and_every_plot(tmp_path, capsys):
    code = cli.main([*TINY, "--out", str(tmp_path)])
    assert code in (0, 1)
    table = (tmp_path / "summary.md").read_text()
    for name in POLICIES:
        assert f"| {name} |" in table
    assert "resource-seconds vs provision-max" in table
    results = json.loads((tmp_path / "results.json").read_text())
    assert set(results["policies"]) == set(POLICIES)
    assert code == (0 if all(g["met"] for g in results["goals"]) else 1)
    for name in ("summary", "services_over_time", "cost_over_time", "records_consumed",
                 "matching", "node_load"):
        assert (tmp_path / f"{name}.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert "| ours |" in capsys.readouterr().out


def test_no_plots_writes_only_the_table(tmp_path):
    cli.main([*TINY, "--out", str(tmp_path), "--no-plots"])
    assert sorted(p.name for p in tmp_path.iterdir()) == ["results.json", "summary.md"]


@pytest.mark.parametrize("args", [["--curves", "0"], ["--hpa-target", "1.5"],
                                  ["--plot-curve", "5", "--curves", "2"],
                                  ["--duration-s", "10"]],
                         ids=["no-curves", "hpa-target-above-one", "plot-curve-out-of-range",
                              "too-short"])
def test_bad_arguments_exit_with_usage(args, capsys):
    with pytest.raises(SystemExit) as caught:
        cli.main(args)
    assert caught.value.code == 2
    assert args[0] in capsys.readouterr().err


def test_parallel_and_serial_runs_agree():
    settings = EvaluationSettings(curves=2, duration_s=300.0)
    assert evaluate(settings, jobs=2) == evaluate(settings, jobs=1)


def metrics(violation, resources, actions):
    return RunMetrics(violation, resources, actions, 0.0, 0.0, 0.0, 0.0, 0.0)


def test_goals_compare_ours_with_yardsticks_of_the_same_run():
    runs = {"ours": metrics(0.0, 40.0, 30), "hpa-style": metrics(10.0, 50.0, 10),
            "keda-style": metrics(100.0, 30.0, 50), "provision-max": metrics(0.0, 100.0, 0)}
    summaries = {name: summarise(name, [m], 1000.0) for name, m in runs.items()}
    goals = {g.name: g for g in policy_goals(summaries)}
    assert goals["resource-seconds vs hpa-style"].measured == 0.8
    assert goals["resource-seconds vs hpa-style"].met
    missed = goals["scaling actions vs hpa-style"]
    assert (missed.measured, missed.met) == (3.0, False)
    assert "MISSED by 1.50x" in missed.line()
    assert Goal("x", 0.5, 1.0).line() == "x: 0.5 (goal <= 1) met"
    assert Goal("speed-up", 50.0, 100.0, at_least=True).line() == (
        "speed-up: 50 (goal >= 100) MISSED by 2.00x")
    assert Goal("difference", 3.0, 0.0).line() == "difference: 3 (goal <= 0) MISSED"


@pytest.mark.parametrize(("ours", "yardstick", "expected"),
                         [(0.0, 0.0, 0.0), (1.0, 0.0, float("inf")), (1.0, 4.0, 0.25)],
                         ids=["both-zero", "yardstick-zero", "plain"])
def test_ratio_edge_cases(ours, yardstick, expected):
    assert ratio(ours, yardstick) == expected


def test_forecasts_on_a_straight_ramp_stop_at_the_newest_value():
    import numpy as np

    ramp = np.arange(400, dtype=float)
    errors = {e.method: e for e in forecast_errors([ramp], dt=5.0, period_s=10.0,
                                                   horizon_steps=3.0)}
    # LRR is clamped to the window's range (issue 16 item 9), so on a ramp it forecasts the
    # newest value, as last value does: both 3 periods of 2 steps behind.
    assert errors["lrr k=10"].mae == pytest.approx(6.0)
    assert errors["last value"].mae == pytest.approx(6.0)


def test_exact_matching_is_never_beaten():
    scores = matching_scores(default_nodes(), instances=4)
    for family in ("topology", "restricted", "general"):
        family_scores = {s.algorithm: s for s in scores if s.family == family}
        exact = family_scores.pop("exact")
        for other in family_scores.values():
            assert exact.velocity >= other.velocity - 1e-9
            if other.velocity == exact.velocity:
                assert exact.cost <= other.cost + 1e-9
