"""Seeded curves and the simulated plant's bookkeeping, checked by hand."""
import numpy as np
import pytest

from devstack.evaluation.curves import CurveShape, production_curve, production_curves
from devstack.evaluation.plant import Changes, Plant, PlantConfig, Stage
from etlkit.scheduler.observation import Node


def test_a_curve_depends_only_on_seed_and_index():
    few = production_curves(3, 200, 5.0, seed=4)
    np.testing.assert_array_equal(few[2], production_curve(2, 200, 5.0, seed=4))
    assert not np.array_equal(few[0], production_curve(0, 200, 5.0, seed=5))


def test_curves_stay_within_their_shape():
    flat = CurveShape(base=(300.0, 300.0), bumps=(0, 0), noise=0.0)
    np.testing.assert_array_equal(production_curve(0, 50, 5.0, shape=flat), np.full(50, 300.0))
    curves = production_curves(20, 400, 5.0)
    assert (curves >= 0).all() and curves.mean() > 200.0


def plant(startup=10.0, steps=10):
    config = PlantConfig(dt=5.0, startup_delay_s=startup,
                         stages=(Stage("a", 10.0, 1.0), Stage("b", 20.0, 0.5)),
                         nodes=(Node("n0"), Node("n1")))
    return Plant(config, steps)


def test_backlog_grows_by_the_gap_and_starting_services_do_not_consume():
    p = plant()
    p.apply(Changes(add=((0, "a1", "n0"), (1, "b1", "n1"))))
    for _ in range(2):  # both services start for 10 s
        p.step(15.0)
    assert p.queues == [150.0, 0.0]
    p.step(15.0)  # now ready: a drains 50 of 225, b takes those 50 (capacity 100)
    assert p.queues == [175.0, 0.0]
    assert p.trace.consumed[2] == 10.0
    assert list(p.trace.counts[2]) == [1, 1]
    assert p.trace.velocity[2] == 10.0  # slowest stage
    np.testing.assert_array_equal(p.trace.node_load[2], [1.0, 0.5])


def test_changes_for_counts_add_on_light_nodes_and_remove_newest_first():
    p = plant()
    p.apply(p.changes_for_counts([3, 1]))
    assert [s.node for s in p.services[0]] == ["n0", "n1", "n0"]
    ids = [s.service_id for s in p.services[0]]
    removal = p.changes_for_counts([1, 1])
    assert removal.remove == ((0, ids[2]), (0, ids[1]))


def test_recent_rate_averages_the_last_window():
    p = plant()
    for rate in (10.0, 20.0, 30.0):
        p.step(rate)
    assert p.recent_rate(10.0) == pytest.approx(25.0)
    assert plant().recent_rate(10.0) == 0.0
