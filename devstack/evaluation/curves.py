"""Seeded production curves: a base rate plus random normal bumps plus noise (records/s).

As in the paper's evaluation: each curve is a sum of normal-distribution bumps over time. Each
curve has its own generator derived from (seed, index), so curve 17 is the same whether 20 or
100 curves are drawn, and runs in parallel processes agree with a serial run.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

__all__ = ["CurveShape", "production_curve", "production_curves"]


@dataclass(frozen=True)
class CurveShape:
    """Ranges the random curves are drawn from (rates in records/s, times in seconds).

    Base, bump count and noise are those of the scheduler note's quick simulation; bump
    heights and widths are calibrated so that the yardsticks land where the note measured
    them (provision-for-average ~0.41 and HPA-style ~0.55 of provision-for-max), which does
    not involve the policy under test.
    """

    base: tuple[float, float] = (200.0, 600.0)
    bumps: tuple[int, int] = (2, 5)
    bump_height: tuple[float, float] = (0.5, 2.5)  # times the base rate
    bump_width: tuple[float, float] = (0.015, 0.06)  # standard deviation, times the duration
    noise: float = 0.05  # relative standard deviation of the per-step noise


def production_curve(index: int, steps: int, dt: float, seed: int = 0,
                     shape: CurveShape = CurveShape()) -> np.ndarray:
    """Curve number ``index`` of the family ``seed``: ``steps`` rates, one per ``dt`` seconds."""
    rng = np.random.default_rng([seed, index])
    duration = steps * dt
    t = (np.arange(steps) + 0.5) * dt
    base = rng.uniform(*shape.base)
    rate = np.full(steps, base)
    for _ in range(int(rng.integers(shape.bumps[0], shape.bumps[1] + 1))):
        height = base * rng.uniform(*shape.bump_height)
        centre = rng.uniform(0.0, duration)
        width = duration * rng.uniform(*shape.bump_width)
        rate += height * np.exp(-0.5 * ((t - centre) / width) ** 2)
    rate *= 1.0 + shape.noise * rng.standard_normal(steps)
    return np.clip(rate, 0.0, None)


def production_curves(count: int, steps: int, dt: float, seed: int = 0,
                      shape: CurveShape = CurveShape()) -> np.ndarray:
    """``count`` curves stacked as rows."""
    return np.array([production_curve(i, steps, dt, seed, shape) for i in range(count)])
