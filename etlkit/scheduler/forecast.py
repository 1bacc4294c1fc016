"""Forecasts of a source's production rate: robust local regression (LRR) and last value.

LRR follows Beloglazov & Buyya (2012), itself Cleveland's loess reduced to one robustness pass:
a straight line is fitted to the last k observations with tricube weights that favour the
newest ones, refitted once with bisquare robustness weights so that a lone outlier cannot drag
the trend, then extrapolated over the horizon (start-up delay / control period), clamped to the
range the window observed, and multiplied by a safety factor. Two well-known implementations get this wrong (CloudSim inverts the weights
and never applies them; OpenStack Neat squares them and does not clip the bisquare), so the
tests check this one against hand-computed lines, not against them.

The clamp is ours (issue 16, item 9): a step change inside the window (100 rec/s, then 200)
tilts the line, and its extrapolation forecasts a rate the source never produced (262 rec/s
three steps ahead), which scales out for load that does not come. A forecast within the
window's range is one the data supports; growth beyond it is what the safety factor and the
backlog term of the required velocity are for.
"""
from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol

import numpy as np

from .errors import SchedulerInputError, require

__all__ = ["Forecaster", "lrr_forecast", "lrr_line", "last_value_forecast", "tricube",
           "bisquare"]

# Fewer points than this leave at most one point with a non-zero tricube weight (the oldest
# always gets 0), so no line can be fitted: the forecast falls back to the last value.
_MIN_FIT_POINTS = 3
_ROUNDING = 1e-9


class Forecaster(Protocol):
    """A forecast of the rate ``horizon`` steps after the newest observation."""

    def __call__(self, history: Sequence[float], *, horizon: float = 1.0,
                 safety: float = 1.0) -> float: ...


def tricube(u: np.ndarray) -> np.ndarray:
    """Tricube kernel ``(1 - |u|^3)^3`` for ``|u| < 1``, else 0."""
    a = np.abs(u)
    return np.where(a < 1.0, (1.0 - a**3) ** 3, 0.0)


def bisquare(u: np.ndarray) -> np.ndarray:
    """Bisquare (biweight) kernel ``(1 - u^2)^2`` for ``|u| < 1``, else 0."""
    return np.where(np.abs(u) < 1.0, (1.0 - u**2) ** 2, 0.0)


def _weighted_line(x: np.ndarray, y: np.ndarray, w: np.ndarray) -> tuple[float, float] | None:
    """Weighted least squares ``y = a + b x``; None when fewer than two distinct x carry weight."""
    sw = w.sum()
    if sw <= 0.0:
        return None
    mx = (w * x).sum() / sw
    dx = x - mx
    sxx = (w * dx * dx).sum()
    # Centring first keeps the normal equations well conditioned; sxx == 0 means all weight
    # sits on one x and the slope is undetermined.
    if sxx <= 1e-12 * sw:
        return None
    my = (w * y).sum() / sw
    b = (w * dx * (y - my)).sum() / sxx
    return float(my - b * mx), float(b)


def _validate(history: Sequence[float], horizon: float, safety: float) -> np.ndarray:
    y = np.asarray(history, dtype=float)
    require(y.ndim == 1 and y.size > 0, SchedulerInputError, "history",
            "must be a non-empty sequence of rates")
    require(bool(np.isfinite(y).all()), SchedulerInputError, "history",
            "every rate must be finite")
    require(np.isfinite(horizon) and horizon >= 0, SchedulerInputError, "horizon",
            "must be finite and >= 0", horizon)
    require(np.isfinite(safety) and safety > 0, SchedulerInputError, "safety",
            "must be finite and > 0", safety)
    return y


def lrr_forecast(history: Sequence[float], *, horizon: float = 1.0,
                 safety: float = 1.0) -> float:
    """Forecast the rate ``horizon`` steps past the newest of ``history`` by robust regression.

    Parameters
    ----------
    history : sequence of float
        The window of observations, oldest first (the caller keeps the last k, k = 10 typical).
    horizon : float
        Steps to extrapolate past the newest point: start-up delay / control period.
    safety : float
        Factor applied to the extrapolated rate (about 1.2 in the original).

    Returns
    -------
    float
        ``max(0, safety * clamp(a + b * (k + horizon), min(history), max(history)))`` where
        ``y = a + b x`` is the robust fit on ``x = 1..k``. With fewer than 3 points,
        ``safety * history[-1]``.

    Examples
    --------
    >>> lrr_forecast([1, 2, 3, 4, 5, 6, 7, 108, 9, 10], horizon=1)  # the spike is ignored
    11.0

    Nothing is extrapolated past what the window saw: not a step change (the line would say
    262.6), nor a trend (6.0):

    >>> lrr_forecast([100] * 5 + [200] * 5, horizon=3)
    200.0
    >>> lrr_forecast([1.0, 2.0, 3.0, 4.0], horizon=2)
    4.0

    One robustness pass does not remove every outlier: a spike on the newest points keeps a
    large tricube weight and still pulls the line (less than it pulls a last-value forecast).
    """
    y = _validate(history, horizon, safety)
    line = _robust_line(y)
    if line is None:
        return max(0.0, safety * float(y[-1]))
    a, b = line
    ahead = min(max(a + b * (y.size + horizon), float(y.min())), float(y.max()))
    return max(0.0, safety * ahead)


def lrr_line(history: Sequence[float]) -> tuple[float, float] | None:
    """The robust line ``y = a + b x`` through ``history`` at ``x = 1..k``, as ``(a, b)``.

    What :func:`lrr_forecast` extrapolates before clamping; None with fewer than 3 points.

    >>> lrr_line([1.0, 2.0, 3.0, 4.0])
    (0.0, 1.0)
    """
    return _robust_line(_validate(history, 0.0, 1.0))


def _robust_line(y: np.ndarray) -> tuple[float, float] | None:
    k = y.size
    if k < _MIN_FIT_POINTS:
        return None
    x = np.arange(1.0, k + 1.0)
    w = tricube((x[-1] - x) / (x[-1] - x[0]))
    line = _weighted_line(x, y, w)
    assert line is not None  # k >= 3 leaves at least two distinct weighted x
    a, b = line
    residuals = y - (a + b * x)
    s = float(np.median(np.abs(residuals)))
    # Rounding leaves residuals of ~1e-16 * |y| on points that sit on the line.
    on_line = _ROUNDING * max(1.0, float(np.abs(y).max()))
    if s > on_line:
        delta = bisquare(residuals / (6.0 * s))
    else:
        # At least half the points sit on the line: the limit of B(e / 6s) as s -> 0 keeps
        # those and drops every point off it.
        delta = (np.abs(residuals) <= on_line).astype(float)
    refit = _weighted_line(x, y, w * delta)
    # The robustness pass may leave a single weighted point (everything else an outlier);
    # then the plain tricube fit is the better estimate.
    return refit if refit is not None else (a, b)


def last_value_forecast(history: Sequence[float], *, horizon: float = 1.0,
                        safety: float = 1.0) -> float:
    """The yardstick forecast: the newest observation times ``safety`` (horizon is ignored)."""
    y = _validate(history, horizon, safety)
    return max(0.0, safety * float(y[-1]))
