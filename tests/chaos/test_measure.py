"""Availability arithmetic on hand-built timelines: outages, attribution, recovery, freshness."""
import pytest

from devstack.chaos.measure import (BASELINE, READ, WRITE, Fault, Op, Read, attribute,
                                    availability, clipped_seconds, freshness, outages,
                                    per_component, recoveries)

SLOW = 1.0


def w(start, end, ok=True, error="", client=0):
    return Op(WRITE, start, end, ok, error, client)


def test_no_bad_op_means_no_outage_and_full_availability():
    ops = [w(t, t + 0.05) for t in range(10)]
    assert outages(ops, WRITE, SLOW, 10.0) == []
    assert availability([], 10.0) == 1.0


def test_an_outage_runs_from_the_first_bad_start_to_the_next_good_start():
    ops = [w(0, 0.1), w(1, 1.01, ok=False, error="HTTP 503"), w(1.5, 1.51, ok=False), w(3, 3.1)]
    [out] = outages(ops, WRITE, SLOW, 10.0)
    assert (out.start, out.end, out.bad_ops, out.first_error) == (1, 3, 2, "HTTP 503")
    assert out.noticed == 1.01  # a failure is known when its answer comes
    assert availability([out], 10.0) == pytest.approx(0.8)


def test_a_slow_success_is_unavailable_time_noticed_at_the_threshold():
    [out] = outages([w(2, 9), w(9.5, 9.6)], WRITE, SLOW, 10.0)
    assert (out.start, out.end, out.noticed) == (2, 9.5, 3.0)
    assert "slower than 1s" in out.first_error


def test_another_client_getting_through_ends_the_outage():
    # Client 0 is stuck from t=1 to t=6; client 1 is served promptly at t=1.2.
    ops = [w(1, 6, client=0), w(1.2, 1.3, client=1), w(2, 2.1, client=1)]
    [out] = outages(ops, WRITE, SLOW, 10.0)
    assert (out.start, out.end) == (1, 1.2)


def test_an_outage_still_open_when_the_window_closes_ends_with_it():
    [out] = outages([w(0, 0.1), w(8, 8.1, ok=False)], WRITE, SLOW, 10.0)
    assert (out.start, out.end) == (8, 10.0)


def test_kinds_are_measured_apart():
    ops = [w(1, 1.1, ok=False), Op(READ, 1, 1.1, True), w(2, 2.1)]
    assert len(outages(ops, WRITE, SLOW, 5)) == 1
    assert outages(ops, READ, SLOW, 5) == []


def test_clipping_keeps_outages_inside_the_window():
    outs = outages([w(-1, -0.9, ok=False), w(0.5, 0.6)], WRITE, SLOW, 10)
    assert clipped_seconds(outs, 10) == pytest.approx(0.5)


FAULTS = [Fault("kill-worker", "function worker", 10, 10.5),
          Fault("restart-warehouse", "warehouse", 20, 21)]


def test_attribution_blames_the_last_fault_before_the_outage_was_noticed():
    ops = [w(5, 5.1, ok=False), w(5.5, 5.6),          # before any fault
           w(9.9, 10.2, ok=False), w(10.4, 10.5),     # started before the kill, failed by it
           w(25, 25.1, ok=False), w(26, 26.1)]
    causes = [o.cause for o in attribute(outages(ops, WRITE, SLOW, 30), FAULTS)]
    assert causes == [BASELINE, "kill-worker#1", "restart-warehouse#2"]


def test_recovery_and_data_flow_per_fault():
    ops = [w(20.2, 20.3, ok=False), w(21.0, 21.1), Op(READ, 20.1, 20.2, False), Op(READ, 21.5, 21.6, True)]
    outs = attribute(outages(ops, WRITE, SLOW, 30) + outages(ops, READ, SLOW, 30), FAULTS)
    created = {1: 9.0, 2: 15.0, 3: 20.5}
    reads = [Read(12.0, 1), Read(21.6, 2), Read(23.0, 3)]
    kill, restart = recoveries(FAULTS, outs, reads, created)
    assert (kill.recovery_s, kill.write_outage_s, kill.read_outage_s) == (0.0, 0.0, 0.0)
    assert kill.flow_recovery_s == pytest.approx(21.6 - 10)  # record 2, created at 15 > 10
    assert restart.write_outage_s == pytest.approx(0.8) and restart.read_outage_s == pytest.approx(1.4)
    assert restart.recovery_s == pytest.approx(1.5)  # the read outage ended at 21.5
    assert restart.flow_recovery_s == pytest.approx(3.0)  # record 3 is the first created after 20
    assert restart.action_s == 1


def test_a_fault_after_which_no_new_record_is_seen_has_no_flow_recovery():
    [rec] = recoveries(FAULTS[:1], [], [Read(11, 1)], {1: 9.0})
    assert rec.flow_recovery_s is None


def test_per_component_figures_count_only_that_components_outages():
    ops = [w(10.2, 10.3, ok=False), w(11.2, 11.3), w(20.5, 20.6, ok=False), w(20.7, 20.8)]
    outs = attribute(outages(ops, WRITE, SLOW, 100), FAULTS)
    recs = recoveries(FAULTS, outs, [], {})
    worker, warehouse, gateway = per_component(["function worker", "warehouse", "gateway"],
                                               FAULTS, outs, recs, 100)
    assert worker.write_availability == pytest.approx(1 - 1.0 / 100)
    assert warehouse.write_availability == pytest.approx(1 - 0.2 / 100)
    assert worker.longest_outage_s == pytest.approx(1.0)
    assert (gateway.faults, gateway.write_availability, gateway.worst_recovery_s) == (0, 1.0, 0.0)


def test_freshness_is_read_time_minus_creation_of_the_newest_record_seen():
    fresh = freshness([Read(10, 1), Read(11, 2), Read(12, None), Read(20, 2)], {1: 9.5, 2: 10.0})
    assert (fresh.median_s, fresh.max_s) == (1.0, 10.0)
    assert freshness([], {}).median_s is None
