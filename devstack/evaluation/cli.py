"""``faas-etl simulate``: run the evaluation and write its table and plots."""
from __future__ import annotations

import argparse
import os
import pathlib
import sys
from collections.abc import Sequence

from .forecast_eval import policy_forecast_errors
from .goals import policy_goals, summarise
from .matching_eval import matching_scores
from .progress import Progress
from .report import Report, markdown, write_report
from .runner import EvaluationSettings, evaluate, simulate

__all__ = ["main", "build_parser"]


def build_parser() -> argparse.ArgumentParser:
    defaults = EvaluationSettings()
    parser = argparse.ArgumentParser(
        prog="faas-etl simulate",
        description="Simulate the elastic scheduler against provision-for-max/average, the "
                    "paper's rule, HPA-style and KEDA-style autoscalers on seeded production "
                    "curves; write a table (summary.md, results.json) and PNG plots.")
    parser.add_argument("--curves", type=int, default=defaults.curves,
                        help="number of seeded production curves (default %(default)s)")
    parser.add_argument("--duration-s", type=float, default=defaults.duration_s,
                        help="simulated seconds per curve (default %(default)s)")
    parser.add_argument("--dt", type=float, default=defaults.dt,
                        help="simulation step in seconds (default %(default)s)")
    parser.add_argument("--seed", type=int, default=defaults.seed,
                        help="seed of the curve family (default %(default)s)")
    parser.add_argument("--hpa-target", type=float, default=defaults.hpa_target,
                        help="HPA-style target utilisation (default %(default)s)")
    parser.add_argument("--keda-lag-s", type=float, default=defaults.keda_lag_s,
                        help="KEDA-style lagThreshold, in seconds of one service's work "
                             "(default %(default)s)")
    parser.add_argument("--jobs", type=int, default=min(4, os.cpu_count() or 1),
                        help="worker processes (default: CPUs, at most 4)")
    parser.add_argument("--out", type=pathlib.Path, default=pathlib.Path("reports/evaluation"),
                        help="output folder (default %(default)s)")
    parser.add_argument("--plot-curve", type=int, default=0,
                        help="curve drawn over time in the plots (default %(default)s)")
    parser.add_argument("--matching-instances", type=int, default=30,
                        help="seeded matching instances per family (default %(default)s)")
    parser.add_argument("--no-plots", action="store_true", help="write the table only")
    parser.add_argument("--quiet", action="store_true", help="no progress bar")
    return parser


def _check(parser: argparse.ArgumentParser, args: argparse.Namespace) -> None:
    if args.curves < 1:
        parser.error("--curves: must be >= 1")
    if args.dt <= 0 or args.duration_s < 10 * args.dt:
        parser.error("--duration-s: must be at least 10 steps of --dt (> 0)")
    if not 0 < args.hpa_target <= 1:
        parser.error("--hpa-target: must be in (0, 1]")
    if args.keda_lag_s <= 0:
        parser.error("--keda-lag-s: must be > 0")
    if not 0 <= args.plot_curve < args.curves:
        parser.error("--plot-curve: must name one of the simulated curves")


def main(argv: Sequence[str] | None = None) -> int:
    """Run the evaluation; print the table to stdout; 0 when every goal is met, else 1."""
    parser = build_parser()
    args = parser.parse_args(argv)
    _check(parser, args)
    settings = EvaluationSettings(args.curves, args.duration_s, args.dt, args.seed,
                                  args.hpa_target, args.keda_lag_s)
    progress = Progress(settings.curves, "curves", enabled=not args.quiet)
    runs = evaluate(settings, jobs=args.jobs, on_curve=progress.advance)
    progress.close()
    summaries = {name: summarise(name, r, settings.duration_s) for name, r in runs.items()}
    plant = settings.plant()
    curves = [settings.curve(i) for i in range(settings.curves)]
    report = Report(settings, summaries, policy_goals(summaries),
                    policy_forecast_errors(curves, settings.dt),
                    matching_scores(plant.nodes, args.matching_instances, settings.seed))
    written = write_report(report, args.out)
    if not args.no_plots:
        curve = curves[args.plot_curve]
        traces = {spec.name: simulate(curve, spec.build(curve, plant), plant)
                  for spec in settings.policies()}
        from .plots import write_plots  # matplotlib only when plotting

        written += write_plots(args.out, plant, traces, summaries, report.matching,
                               args.plot_curve)
    sys.stdout.write(markdown(report))
    sys.stdout.write("\nwritten: " + ", ".join(str(p) for p in written) + "\n")
    return 0 if all(goal.met for goal in report.goals) else 1
