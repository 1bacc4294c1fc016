"""The evaluation's table (Markdown) and machine-readable results (JSON)."""
from __future__ import annotations

import json
import math
import pathlib
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass

from .forecast_eval import ForecastError
from .goals import Goal, PolicySummary, ratio
from .matching_eval import MatchingScore
from .runner import EvaluationSettings

__all__ = ["Report", "write_report"]


@dataclass(frozen=True)
class Report:
    settings: EvaluationSettings
    summaries: Mapping[str, PolicySummary]
    goals: Sequence[Goal]
    forecast: Sequence[ForecastError]
    matching: Sequence[MatchingScore]


def _policy_rows(summaries: Mapping[str, PolicySummary]) -> list[str]:
    full = summaries["provision-max"].resource_seconds
    hpa = summaries["hpa-style"].resource_seconds
    rows = ["| policy | resource-s | x max | x hpa | violation (% of time) | scaling actions "
            "| speed waste (rec) | backlog waste (rec) | total cost (rec) | max backlog (rec) |",
            "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|"]
    for s in summaries.values():
        rows.append(
            f"| {s.name} | {s.resource_seconds:,.0f} | {ratio(s.resource_seconds, full):.3f} "
            f"| {ratio(s.resource_seconds, hpa):.3f} | {100 * s.violation_fraction:.3f} "
            f"| {s.scaling_actions:.1f} | {s.speed_waste:,.0f} | {s.backlog_waste:,.0f} "
            f"| {s.total_cost:,.0f} | {s.max_backlog:,.0f} |")
    return rows


def _forecast_rows(errors: Sequence[ForecastError]) -> list[str]:
    last = next((e.mae for e in errors if e.method == "last value"), math.nan)
    rows = ["| method | MAE (rec/s) | RMSE (rec/s) | MAE x last value |", "|---|---:|---:|---:|"]
    rows += [f"| {e.method} | {e.mae:.2f} | {e.rmse:.2f} | {ratio(e.mae, last):.3f} |"
             for e in errors]
    return rows


def _matching_rows(scores: Sequence[MatchingScore]) -> list[str]:
    rows = ["| family | algorithm | velocity (rec/s) | cost (distance x rec/s) | stability |",
            "|---|---|---:|---:|---:|"]
    rows += [f"| {s.family} | {s.algorithm} | {s.velocity:,.1f} | {s.cost:,.1f} "
             f"| {ratio(s.velocity, s.cost):.3f} |" for s in scores]
    return rows


def markdown(report: Report) -> str:
    s = report.settings
    plant = s.plant()
    stages = ", ".join(f"{st.name} ({st.velocity:g} rec/s per service, weight {st.weight:g})"
                       for st in plant.stages)
    lines = [
        "# Elastic scheduler evaluation",
        "",
        f"{s.curves} seeded curves (seed {s.seed}) of {s.duration_s:g} s, step {s.dt:g} s; "
        f"every policy on the same plant: start-up delay {plant.startup_delay_s:g} s, DTC "
        f"{plant.tolerance_backlog:g} records, DTT {plant.tolerance_time_s:g} s, stages "
        f"{stages}, {plant.min_replicas}-{plant.max_replicas} services each. HPA-style target "
        f"utilisation {s.hpa_target:g}; KEDA-style lag threshold {s.keda_lag_s:g} s of one "
        "service's work.",
        "",
        "## Policies (means per curve)",
        "",
        *_policy_rows(report.summaries),
        "",
        "## Goals for ours",
        "",
        *[f"- {goal.line()}" for goal in report.goals],
        "",
        "## Forecast of the rate one start-up delay ahead",
        "",
        *_forecast_rows(report.forecast),
        "",
        "## Matching between adjacent operations (means over seeded instances)",
        "",
        *_matching_rows(report.matching),
        "",
    ]
    return "\n".join(lines)


def write_report(report: Report, out: pathlib.Path) -> list[pathlib.Path]:
    """Write ``summary.md`` and ``results.json`` into ``out``; return their paths."""
    out.mkdir(parents=True, exist_ok=True)
    table = out / "summary.md"
    table.write_text(markdown(report))
    results = out / "results.json"
    results.write_text(json.dumps({
        "settings": asdict(report.settings),
        "policies": {name: asdict(s) for name, s in report.summaries.items()},
        "goals": [{**asdict(g), "met": g.met} for g in report.goals],
        "forecast": [asdict(e) for e in report.forecast],
        "matching": [asdict(m) for m in report.matching],
    }, indent=2, sort_keys=True, allow_nan=True))
    return [table, results]
