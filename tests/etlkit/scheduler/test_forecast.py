"""LRR forecast: the robust line is exact on known trends and ignores outliers one pass can
catch; the forecast never leaves the window's observed range; inputs are validated."""
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from etlkit.scheduler.errors import SchedulerInputError
from etlkit.scheduler.forecast import (bisquare, last_value_forecast, lrr_forecast, lrr_line,
                                       tricube)


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
def test_the_robust_line_recovers_an_exact_line(intercept, slope, k, horizon):
    x = np.arange(1, k + 1)
    a, b = lrr_line(intercept + slope * x)
    expected = intercept + slope * (k + horizon)
    assert a + b * (k + horizon) == pytest.approx(expected, rel=1e-12)


@pytest.mark.parametrize(
    ("history", "horizon", "forecast"),
    [
        # The line through this window says 262.6 three steps ahead (what main forecast).
        pytest.param([100.0] * 5 + [200.0] * 5, 3.0, 200.0, id="step-up-stops-at-the-max"),
        pytest.param([200.0] * 5 + [100.0] * 5, 3.0, 100.0, id="step-down-stops-at-the-min"),
        pytest.param([100.0] * 8 + [200.0] * 2, 1.0, 200.0, id="late-step-up"),
        pytest.param([10.0, 20.0, 30.0, 40.0], 1.0, 40.0, id="rising-trend-stops-at-newest"),
        pytest.param([50.0, 40.0, 30.0, 20.0, 10.0], 5.0, 10.0,
                     id="falling-trend-stops-at-newest"),
    ],
)
def test_the_forecast_stays_within_the_windows_range(history, horizon, forecast):
    # Issue 16 item 9: a step change tilts the line; extrapolated, it forecasts a rate the
    # source never produced. The forecast is clamped to [min, max] of the window.
    assert lrr_forecast(history, horizon=horizon) == forecast
    a, b = lrr_line(history)
    unclamped = a + b * (len(history) + horizon)
    assert not min(history) <= unclamped <= max(history)  # the clamp is what acted


def test_a_forecast_inside_the_range_is_the_line_itself():
    history = [30.0, 10.0, 30.0, 10.0, 30.0, 10.0, 30.0, 10.0, 30.0, 25.0]
    a, b = lrr_line(history)
    line = a + b * 11.0
    assert 10.0 < line < 30.0
    assert lrr_forecast(history, horizon=1) == pytest.approx(line, rel=1e-12)


@settings(max_examples=100, deadline=None)
@given(history=st.lists(st.floats(0.0, 1e9), min_size=1, max_size=25),
       horizon=st.floats(0.0, 20.0), safety=st.floats(0.5, 3.0))
def test_the_forecast_never_leaves_the_observed_range(history, horizon, safety):
    forecast = lrr_forecast(history, horizon=horizon, safety=safety)
    assert safety * min(history) <= forecast * (1 + 1e-12)
    assert forecast <= safety * max(history) * (1 + 1e-12)


def test_safety_factor_multiplies_the_clamped_forecast():
    history = [10.0, 20.0, 30.0, 40.0]
    assert lrr_forecast(history, horizon=1, safety=1.2) == pytest.approx(1.2 * 40.0)


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
        a, b = lrr_line(500.0 + 20.0 * x + rng.normal(0.0, 10.0, size=10))
        errors.append(a + b * 13 - (500.0 + 20.0 * 13))
    assert abs(np.mean(errors)) < 5.0  # the line is unbiased on a straight trend


def test_a_constant_window_forecasts_the_constant():
    assert lrr_forecast([7.0] * 10, horizon=3) == pytest.approx(7.0, rel=1e-12)


def test_median_residual_zero_keeps_the_points_on_the_line_and_drops_the_rest():
    # k = 3: the oldest point has tricube weight 0, the fit passes exactly through the other
    # two, so the median residual is 0 (a naive e / 6s would divide by zero here).
    assert lrr_forecast([100.0, 10.0, 20.0], horizon=1) == pytest.approx(30.0, rel=1e-12)


def test_a_falling_trend_never_forecasts_a_negative_rate():
    assert lrr_forecast([50.0, 40.0, 30.0, 20.0, 0.0], horizon=5) == 0.0


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
