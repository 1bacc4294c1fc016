"""The yardsticks' arithmetic and the adapter feeding the scheduler core."""
import numpy as np

from devstack.evaluation.autoscalers import (FixedCounts, HpaLoop, HpaStyle, KedaStyle,
                                             SchedulerAutoscaler)
from devstack.evaluation.plant import Plant, PlantConfig, Stage
from etlkit.scheduler.observation import Node
from etlkit.scheduler.policy import Policy

CONFIG = PlantConfig(dt=5.0, stages=(Stage("a", 100.0),), nodes=(Node("n0"),),
                     min_replicas=1, max_replicas=40)


def ready_plant(count, steps=20):
    p = Plant(CONFIG, steps)
    p.apply(p.changes_for_counts([count]), ready_now=True)
    return p


def test_hpa_loop_skips_within_tolerance_and_limits_scale_up():
    loop = HpaLoop()
    assert loop.next_count(0, 10, 1.08, now=0.0, low=1, high=100) == 10
    assert loop.next_count(0, 2, 10.0, now=15.0, low=1, high=100) == 6  # +4 beats x2
    assert loop.next_count(0, 10, 10.0, now=30.0, low=1, high=100) == 20  # x2 beats +4


def test_hpa_loop_scales_down_to_the_highest_recent_recommendation():
    loop = HpaLoop(stabilization_s=300.0)
    assert loop.next_count(0, 10, 1.0, now=0.0, low=1, high=40) == 10
    assert loop.next_count(0, 10, 0.5, now=100.0, low=1, high=40) == 10
    assert loop.next_count(0, 10, 0.5, now=301.0, low=1, high=40) == 5


def test_hpa_style_sizes_from_utilisation():
    p = ready_plant(4)
    for _ in range(3):
        p.step(360.0)  # 90% busy against a target of 80%: ratio 1.125 > tolerance
    changes = HpaStyle(target=0.8).step(p)
    assert len(changes.add) == 1  # ceil(4 * 1.125) = 5


def test_keda_style_sizes_from_lag():
    p = ready_plant(2)
    p.queues[0] = 60_000.0  # 10 services' worth of 60 s of work
    # Wants 10; the HPA's scale-up limit allows max(2 + 4, 2 * 2) = 6 this period.
    assert len(KedaStyle(lag_threshold_s=60.0).step(p).add) == 4


def test_fixed_counts_come_from_the_whole_curve():
    p = ready_plant(1)
    changes = FixedCounts("max", np.array([100.0, 450.0, 200.0]), np.max).step(p)
    assert len(changes.add) == 4


def test_the_scheduler_sees_ready_and_starting_services():
    p = ready_plant(2)
    p.services[0][1].ready_at = 99.0
    p.step(150.0)
    scaler = SchedulerAutoscaler("ours", Policy(match_services=False))
    (pipeline,) = scaler.observe(p).pipelines
    (op,) = pipeline.operations
    assert [(s.velocity, s.ready) for s in op.services] == [(100.0, True), (0.0, False)]
    assert pipeline.production_rate == 150.0
    changes = scaler.step(p)
    assert scaler.state.source(CONFIG.source).history == (150.0,)
    assert all(stage == 0 for stage, _, _ in changes.add)
