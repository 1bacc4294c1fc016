"""Ticks of one workflow never overlap (issue 16 item 6).

Why they can: argo-events v1.9.11 ``pkg/sensors/listener.go`` runs a trigger without
``atLeastOnce`` in a goroutine of its own (``go func() { ... }`` per event), and a calendar
EventSource fires on schedule, so a slow tick and the next one run at once. Two ticks started
together here: one does the work, the other changes nothing and says who holds the lease; on
the real embedded broker (the claims' order in the state topic decides) and with the file
store (a lock file).
"""
import threading
import uuid

import pytest

from etlkit.controller import ControllerRecord, FileStateStore, KafkaStateStore, run_tick
from etlkit.controller.lease import Claim, FileLease, KafkaLease, LocalLease, holder_after

from .test_tick import G_RAW, RAW, World, envelope
from etlkit.controller import parse_scaling


@pytest.mark.parametrize("entries, expected", [
    ([], ("", 0.0)),
    ([Claim("a", 0, 60)], ("a", 60)),
    ([Claim("a", 0, 60), Claim("b", 1, 61)], ("a", 60)),
    ([Claim("a", 0, 60), Claim("a", 30, 0), Claim("b", 31, 91)], ("b", 91)),
    ([Claim("a", 0, 60), Claim("b", 60, 120)], ("b", 120)),
    ([Claim("a", 0, 60), Claim("b", 1, 0)], ("a", 60)),
    ([Claim("a", 0, 60), Claim("a", 10, 70)], ("a", 70)),
], ids=["nobody", "first-claim-wins", "second-claim-loses", "released-then-claimed",
        "expired-then-claimed", "a-loser-cannot-release", "holder-renews"])
def test_who_holds_the_lease_after_a_log_of_claims(entries, expected):
    assert holder_after(entries) == expected


class SlowPlatform:
    """The platform of ``World`` whose node listing waits until both ticks have started, so the
    first is in the middle of its gather when the second asks for the lease."""

    def __init__(self, platform, started: threading.Barrier):
        self.platform, self.started = platform, started

    def nodes(self, ours):
        try:
            self.started.wait(timeout=5)
        except threading.BrokenBarrierError:
            pass  # the second tick never got this far: it was skipped
        return self.platform.nodes(ours)

    def __getattr__(self, name):
        return getattr(self.platform, name)


def _two_ticks_at_once(world, lease):
    world.traffic(15, produced=400, filter_rate=100, map_rate=200)
    started = threading.Barrier(2)
    slow = SlowPlatform(world.platform, started)
    edges = world.edges()
    edges = type(edges)(edges.offsets, slow, edges.metrics, slow, edges.matcher, edges.store,
                        edges.bus, lease)
    spec = parse_scaling(envelope())
    results = {}

    def tick(name):
        results[name] = run_tick(spec, world.config, edges, now=world.now, holder=name)
        if results[name].status == "skipped":
            started.abort()  # let the holder go on

    threads = [threading.Thread(target=tick, args=(n,)) for n in ("tick-1", "tick-2")]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    return results


def _check_one_did_the_work(world, results):
    statuses = sorted(r.status for r in results.values())
    assert statuses == ["applied", "skipped"], {n: r.reason for n, r in results.items()}
    (skipped,) = [r for r in results.values() if r.status == "skipped"]
    (winner,) = [n for n, r in results.items() if r.status == "applied"]
    assert f"{winner} holds the lease" in skipped.reason and "changed nothing" in skipped.reason
    assert world.platform.calls == [("scale", "filter", 3)]  # scaled once, not twice
    assert ControllerRecord.loads(world.store.load("orders")).ticks == 2  # one tick saved


@pytest.fixture
def kafka_world(broker):
    w = World()
    w.store = KafkaStateStore(broker.bootstrap, f"state-{uuid.uuid4().hex[:6]}")
    assert w.tick().status == "unchanged"
    return w


def test_two_ticks_at_once_on_kafka_one_works_the_other_does_nothing(kafka_world):
    lease = KafkaLease(kafka_world.store)
    results = _two_ticks_at_once(kafka_world, lease)
    _check_one_did_the_work(kafka_world, results)
    # Released: the next tick runs.
    kafka_world.traffic(15, produced=400, filter_rate=100, map_rate=200)
    assert run_tick(parse_scaling(envelope()), kafka_world.config, kafka_world.edges(),
                    now=kafka_world.now).status != "skipped"
    assert lease.acquire("orders", "next", kafka_world.now, 60).ok


def test_a_dead_holders_lease_on_kafka_expires(kafka_world):
    lease = KafkaLease(kafka_world.store)
    assert lease.acquire("orders", "crashed", 100.0, 60).ok  # never released
    assert lease.acquire("orders", "too-early", 150.0, 60) == type(
        lease.acquire("orders", "x", 150.0, 60))(False, "crashed", 160.0)
    assert lease.acquire("orders", "after-expiry", 161.0, 60).ok


def test_two_ticks_at_once_with_the_file_store(tmp_path):
    w = World()
    w.store = FileStateStore(tmp_path)
    assert w.tick().status == "unchanged"
    _check_one_did_the_work(w, _two_ticks_at_once(w, FileLease(tmp_path)))


def test_two_ticks_at_once_in_one_process():
    w = World()
    assert w.tick().status == "unchanged"
    _check_one_did_the_work(w, _two_ticks_at_once(w, LocalLease()))
