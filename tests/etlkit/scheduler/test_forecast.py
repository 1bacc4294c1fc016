"""LRR forecast: exact on known trends, robust to outliers one pass can catch, validated."""
import numpy as np
import pytest

from etlkit.scheduler.errors import SchedulerInputError
from etlkit.scheduler.forecast import bisquare, last_value_forecast, lrr_forecast, tricube


@pytest.mark.parametrize(
    ("intercept", "slope", "k", "horizon"),
    [
        pytest.param(100.0, 5.0, 10, 3.0, id="rising-trend"),
        pytest.param(400.0, -7.5, 10, 2.0, id="falling-trend"),
        pytest.param(250.0, 0.0, 10, 3.0, id="flat"),
        pytest.param(10.0, 1.0, 3, 1.0, id="shortest-fittable-window"),
        pytest.param(30.0, 2.0, 25, 0.5, id="long-window-fractional-horizon"),
    ],
)
def test_lrr_extrapolates_an_exact_line(intercept, slope, k, horizon):
    x = np.arange(1, k + 1)
    history = intercept + slope * x
    expected = intercept + slope * (k + horizon)
    assert lrr_forecast(history, horizon=horizon) == pytest.approx(expected, rel=1e-12)


def test_safety_factor_multiplies_the_extrapolation():
    history = [10.0, 20.0, 30.0, 40.0]
    assert lrr_forecast(history, horizon=1, safety=1.2) == pytest.approx(1.2 * 50.0)


@pytest.mark.parametrize("position", [0, 1, 2, 7], ids=["oldest", "second", "third", "eighth"])
def test_one_robust_pass_removes_a_spike_it_can_catch(position):
    history = np.arange(1.0, 11.0) * 10.0
    history[position] += 1000.0
    assert lrr_forecast(history, horizon=1) == pytest.approx(110.0, rel=1e-9)


def test_without_the_robust_pass_the_same_spike_would_drag_the_line():
    # The non-robust tricube fit on the eighth-point spike: proves the pass above does work.
    history = np.arange(1.0, 11.0) * 10.0
    history[7] += 1000.0
    x = np.arange(1.0, 11.0)
    w = tricube((10.0 - x) / 9.0)
    b, a = np.polyfit(x, history, 1, w=np.sqrt(w))
    assert abs(a + b * 11.0 - 110.0) > 50.0


def test_a_spike_on_the_newest_point_misleads_lrr_less_than_last_value():
    history = np.arange(1.0, 11.0) * 10.0
    history[-1] += 1000.0
    truth = 110.0
    lrr_error = abs(lrr_forecast(history, horizon=1) - truth)
    last_error = abs(last_value_forecast(history, horizon=1) - truth)
    assert lrr_error < last_error


def test_noisy_trend_is_recovered_within_the_noise():
    rng = np.random.default_rng(7)
    x = np.arange(1, 11)
    errors = []
    for _ in range(200):
        history = 500.0 + 20.0 * x + rng.normal(0.0, 10.0, size=10)
        errors.append(lrr_forecast(history, horizon=3) - (500.0 + 20.0 * 13))
    assert abs(np.mean(errors)) < 5.0  # unbiased on a straight trend


def test_a_constant_window_forecasts_the_constant():
    assert lrr_forecast([7.0] * 10, horizon=3) == pytest.approx(7.0, rel=1e-12)


def test_median_residual_zero_keeps_the_points_on_the_line_and_drops_the_rest():
    # k = 3: the oldest point has tricube weight 0, the fit passes exactly through the other
    # two, so the median residual is 0 (a naive e / 6s would divide by zero here).
    assert lrr_forecast([100.0, 10.0, 20.0], horizon=1) == pytest.approx(30.0, rel=1e-12)


def test_a_falling_trend_never_forecasts_a_negative_rate():
    assert lrr_forecast([50.0, 40.0, 30.0, 20.0, 10.0], horizon=5) == 0.0


@pytest.mark.parametrize("history", [[3.0], [3.0, 9.0]], ids=["one-point", "two-points"])
def test_too_short_a_window_falls_back_to_the_last_value(history):
    assert lrr_forecast(history, horizon=3, safety=1.5) == pytest.approx(1.5 * history[-1])


def test_last_value_ignores_the_horizon():
    assert last_value_forecast([1.0, 2.0, 8.0], horizon=10, safety=1.25) == 10.0


def test_kernels_are_zero_outside_the_unit_interval():
    u = np.array([-1.5, -1.0, 0.0, 0.5, 1.0])
    np.testing.assert_allclose(tricube(u), [0.0, 0.0, 1.0, (1 - 0.125) ** 3, 0.0])
    np.testing.assert_allclose(bisquare(u), [0.0, 0.0, 1.0, 0.75**2, 0.0])


@pytest.mark.parametrize(
    ("kwargs", "field"),
    [
        pytest.param({"history": []}, "history", id="empty-history"),
        pytest.param({"history": [1.0, float("nan")]}, "history", id="nan-rate"),
        pytest.param({"history": [1.0], "horizon": -1.0}, "horizon", id="negative-horizon"),
        pytest.param({"history": [1.0], "safety": 0.0}, "safety", id="zero-safety"),
    ],
)
@pytest.mark.parametrize("forecast", [lrr_forecast, last_value_forecast], ids=["lrr", "last"])
def test_invalid_inputs_name_the_field(forecast, kwargs, field):
    options = dict(kwargs)
    history = options.pop("history")
    with pytest.raises(SchedulerInputError) as caught:
        forecast(history, **options)
    assert caught.value.field == field
