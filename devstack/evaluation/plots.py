"""PNG figures in the spirit of the paper's: cost, records consumed, matching, node load.

One curve (``plot_curve``) is drawn over time for every policy; the summary and matching
figures cover all curves and instances. Time axes are in hours, rates in records/s.
"""
from __future__ import annotations

import pathlib
from collections.abc import Mapping, Sequence

import matplotlib

matplotlib.use("Agg")  # files only, never a window
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402

from .goals import PolicySummary, ratio  # noqa: E402
from .matching_eval import FAMILIES, MatchingScore  # noqa: E402
from .plant import PlantConfig, Trace  # noqa: E402

__all__ = ["write_plots"]

COLOURS = {"provision-max": "#7f7f7f", "provision-average": "#bcbd22", "paper-rule": "#ff7f0e",
           "ours": "#1f77b4", "hpa-style": "#2ca02c", "keda-style": "#d62728"}
ALGORITHM_COLOURS = {"exact": "#1f77b4", "hierarchical": "#17becf", "greedy": "#ff7f0e",
                     "greedy-per-service": "#9467bd", "round-robin": "#d62728"}
DPI = 120


def _emphasis(name: str) -> dict:
    """Draw the policy under test thicker and on top, so the flapping ones cannot hide it."""
    return {"linewidth": 2.0, "zorder": 5} if name == "ours" else {"linewidth": 0.9}


def _hours(trace: Trace, config: PlantConfig) -> np.ndarray:
    return np.arange(len(trace.production)) * config.dt / 3600.0


def _smooth(values: np.ndarray, steps: int) -> np.ndarray:
    """Trailing mean over ``steps`` samples (shorter at the start)."""
    cumulative = np.cumsum(np.insert(values, 0, 0.0))
    idx = np.arange(1, len(values) + 1)
    lo = np.maximum(idx - steps, 0)
    return (cumulative[idx] - cumulative[lo]) / (idx - lo)


def _save(fig: plt.Figure, path: pathlib.Path,
          rect: tuple[float, float, float, float] = (0, 0, 1, 1)) -> pathlib.Path:
    fig.tight_layout(rect=rect)
    fig.savefig(path, dpi=DPI)
    plt.close(fig)
    return path


def _save_over_time(fig: plt.Figure, axes: Sequence[plt.Axes], path: pathlib.Path,
                    legend: plt.Axes, ncol: int = 3) -> pathlib.Path:
    """Label the shared time axis, grid every panel, put the legend on ``legend``, save."""
    axes[-1].set_xlabel("time (hours)")
    legend.legend(ncol=ncol, fontsize=9, loc="upper left")
    for ax in axes:
        ax.grid(alpha=0.3)
    return _save(fig, path)


def _services(traces: Mapping[str, Trace], config: PlantConfig, path: pathlib.Path,
              curve: int) -> pathlib.Path:
    fig, (top, bottom) = plt.subplots(2, 1, figsize=(11, 7), sharex=True,
                                      gridspec_kw={"height_ratios": [1, 2]})
    any_trace = next(iter(traces.values()))
    hours = _hours(any_trace, config)
    top.plot(hours, any_trace.production, color="black", linewidth=0.6)
    top.set_ylabel("production (records/s)")
    top.set_title(f"Curve {curve}: production rate and services of '{config.stages[0].name}'")
    for name, trace in traces.items():
        bottom.step(hours, trace.counts[:, 0], where="post", label=name,
                    color=COLOURS.get(name), **_emphasis(name))
    bottom.set_ylabel(f"services of {config.stages[0].name}")
    return _save_over_time(fig, (top, bottom), path, legend=bottom)


def _cost(traces: Mapping[str, Trace], config: PlantConfig, path: pathlib.Path,
          curve: int) -> pathlib.Path:
    fig, (rate, total) = plt.subplots(2, 1, figsize=(11, 7), sharex=True)
    window = max(1, int(round(300 / config.dt)))
    for name, trace in traces.items():
        hours = _hours(trace, config)
        gap = np.abs(trace.velocity - trace.production)
        rate.plot(hours, _smooth(gap, window), label=name, color=COLOURS.get(name),
                  **_emphasis(name))
        total.plot(hours, np.cumsum(gap) * config.dt / 1e6, label=name,
                   color=COLOURS.get(name), **_emphasis(name))
    rate.set_yscale("symlog", linthresh=10)
    rate.set_ylabel("|velocity - production|\n(records/s, 5-min mean)")
    rate.set_title(f"Curve {curve}: cost = speed waste + backlog waste over time")
    total.set_ylabel("cumulative cost\n(million records)")
    return _save_over_time(fig, (rate, total), path, legend=total)


def _consumed(traces: Mapping[str, Trace], config: PlantConfig, path: pathlib.Path,
              curve: int) -> pathlib.Path:
    fig, (total, behind) = plt.subplots(2, 1, figsize=(11, 7.5), sharex=True)
    any_trace = next(iter(traces.values()))
    hours = _hours(any_trace, config)
    total.plot(hours, np.cumsum(any_trace.production) * config.dt / 1e6, color="black",
               linestyle="--", linewidth=1.5, label="produced")
    for name, trace in traces.items():
        total.plot(hours, np.cumsum(trace.consumed) * config.dt / 1e6, label=name,
                   color=COLOURS.get(name), **_emphasis(name))
        behind.plot(hours, np.maximum(trace.backlog, 1.0), color=COLOURS.get(name),
                    **_emphasis(name))
    behind.axhline(config.tolerance_backlog, color="black", linestyle=":", linewidth=1.2,
                   label=f"DTC ({config.tolerance_backlog:,.0f} records)")
    total.set_ylabel("cumulative records (millions)")
    total.set_title(f"Curve {curve}: records consumed by the whole pipeline, and how far "
                    "behind production each policy is")
    total.legend(ncol=2, fontsize=9, loc="upper left")
    behind.set_yscale("log")
    behind.set_ylim(1.0, None)
    behind.set_ylabel("backlog: produced - consumed\n(records, log scale)")
    return _save_over_time(fig, (total, behind), path, legend=behind, ncol=1)


def _node_load(trace: Trace, config: PlantConfig, path: pathlib.Path, curve: int,
               policy: str) -> pathlib.Path:
    fig, ax = plt.subplots(figsize=(11, 5.5))
    hours = _hours(trace, config)
    for k, node in enumerate(config.nodes):
        ax.plot(hours, trace.node_load[:, k], linewidth=1.0,
                label=f"{node.name} ({node.region}/{node.zone})")
    capacity = min(node.capacity for node in config.nodes)
    ax.axhline(capacity, color="black", linestyle=":", linewidth=1.0,
               label=f"capacity ({capacity:g})")
    ax.set_ylabel("node load (sum of service weights)")
    ax.set_title(f"Curve {curve}: node load under GLB placement ({policy})")
    ax.set_ylim(0, max(capacity, float(trace.node_load.max())) * 1.1)
    return _save_over_time(fig, (ax,), path, legend=ax)


def _matching(scores: Sequence[MatchingScore], path: pathlib.Path) -> pathlib.Path:
    fig, (vel, cost) = plt.subplots(1, 2, figsize=(12, 5))
    algorithms = list(dict.fromkeys(s.algorithm for s in scores))
    width = 0.8 / len(algorithms)
    for a, algorithm in enumerate(algorithms):
        for ax, field in ((vel, "velocity"), (cost, "cost")):
            values = [next((getattr(s, field) for s in scores
                            if s.family == f and s.algorithm == algorithm), np.nan)
                      for f in FAMILIES]
            bars = ax.bar(np.arange(len(FAMILIES)) + (a - (len(algorithms) - 1) / 2) * width,
                          values, width, label=algorithm,
                          color=ALGORITHM_COLOURS.get(algorithm))
            ax.bar_label(bars, fmt="%.0f", fontsize=7, rotation=90, padding=2)
    for ax, label in ((vel, "matched velocity (records/s)"),
                      (cost, "matching cost (distance x records/s)")):
        ax.set_xticks(np.arange(len(FAMILIES)), FAMILIES)
        ax.set_ylabel(label)
        ax.set_xlabel("instance family")
        ax.grid(axis="y", alpha=0.3)
    vel.set_title("Velocity: higher is better")
    vel.set_ylim(0, max(s.velocity for s in scores) * 1.15)
    cost.set_yscale("log")
    cost.set_title("Cost: lower is better (at equal velocity; log scale)")
    handles, labels = vel.get_legend_handles_labels()
    fig.legend(handles, labels, loc="lower center", ncol=len(algorithms), fontsize=9,
               title="algorithm")
    return _save(fig, path, rect=(0, 0.1, 1, 1))


def _summary(summaries: Mapping[str, PolicySummary], path: pathlib.Path) -> pathlib.Path:
    names = list(summaries)
    full = summaries["provision-max"].resource_seconds
    panels = [
        ("resource-seconds (x provision-max)",
         [ratio(summaries[n].resource_seconds, full) for n in names]),
        ("violation: backlog > DTC (% of time)",
         [100 * summaries[n].violation_fraction for n in names]),
        ("scaling actions per curve", [summaries[n].scaling_actions for n in names]),
    ]
    fig, axes = plt.subplots(1, 3, figsize=(14, 5))
    for ax, (label, values) in zip(axes, panels):
        bars = ax.bar(names, values, color=[COLOURS.get(n) for n in names])
        ax.bar_label(bars, fmt="%.3g", fontsize=8)
        ax.set_title(label, fontsize=10)
        ax.tick_params(axis="x", rotation=35, labelsize=9)
        ax.grid(axis="y", alpha=0.3)
    fig.suptitle(f"All {next(iter(summaries.values())).curves} curves: means per curve")
    return _save(fig, path)


def write_plots(out: pathlib.Path, config: PlantConfig, traces: Mapping[str, Trace],
                summaries: Mapping[str, PolicySummary], scores: Sequence[MatchingScore],
                curve: int, placed_policy: str = "ours") -> list[pathlib.Path]:
    """Write every figure into ``out``; return their paths."""
    out.mkdir(parents=True, exist_ok=True)
    return [
        _summary(summaries, out / "summary.png"),
        _services(traces, config, out / "services_over_time.png", curve),
        _cost(traces, config, out / "cost_over_time.png", curve),
        _consumed(traces, config, out / "records_consumed.png", curve),
        _matching(scores, out / "matching.png"),
        _node_load(traces[placed_policy], config, out / "node_load.png", curve, placed_policy),
    ]
