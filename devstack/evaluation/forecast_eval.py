"""How well each forecast predicts the production rate one start-up delay ahead."""
from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

import numpy as np

from etlkit.scheduler.forecast import last_value_forecast, lrr_forecast
from etlkit.scheduler.policy import Policy

__all__ = ["ForecastError", "forecast_errors", "policy_forecast_errors"]


@dataclass(frozen=True)
class ForecastError:
    """Errors of one forecast method over all curves (records/s)."""

    method: str
    mae: float
    rmse: float


def forecast_errors(curves: Iterable[np.ndarray], dt: float, period_s: float,
                    horizon_steps: float, windows: Iterable[int] = (10, 20),
                    stride: int = 3) -> list[ForecastError]:
    """Forecast each control period's mean rate ``horizon_steps`` periods ahead.

    The curves are averaged per control period (what the controller observes); every
    ``stride``-th period is a forecast origin. LRR runs at each window size, last value once.
    """
    windows = tuple(windows)
    per = max(1, int(round(period_s / dt)))
    h = max(1, int(round(horizon_steps)))
    errors: dict[str, list[float]] = {f"lrr k={k}": [] for k in windows}
    errors["last value"] = []
    widest = max(windows)
    for curve in curves:
        usable = len(curve) // per * per
        observed = np.asarray(curve[:usable]).reshape(-1, per).mean(axis=1)
        for t in range(widest, len(observed) - h + 1, stride):
            truth = observed[t - 1 + h]
            for k in windows:
                errors[f"lrr k={k}"].append(
                    lrr_forecast(observed[t - k:t], horizon=horizon_steps) - truth)
            errors["last value"].append(last_value_forecast(observed[t - widest:t]) - truth)
    return [ForecastError(name, float(np.mean(np.abs(e))) if e else float("nan"),
                          float(np.sqrt(np.mean(np.square(e)))) if e else float("nan"))
            for name, e in errors.items()]


def policy_forecast_errors(curves: Iterable[np.ndarray], dt: float,
                           policy: Policy = Policy()) -> list[ForecastError]:
    """Errors at the period and horizon of ``policy``, at the paper's window and its own."""
    return forecast_errors(curves, dt, policy.control_period_s, policy.horizon_steps,
                           windows=sorted({Policy.paper().window, policy.window}))
