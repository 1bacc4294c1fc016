"""Two workflows' controllers ticking on one shared function (issue 16 item 7).

faas-netes keeps one replica count per function (openfaas/faas-netes 0.18.17
``pkg/handlers/scale.go``: the scale request sets the replicas of the Deployment named after the
function), so orders and host-metrics, which both scale ``filter``, must compose one count: the
sum of their live claims within the bounds (etlkit/controller/sharing.py). Fake clock, test
doubles of the platform and offsets (tests/etlkit/controller/fakes.py), one claim board shared by
both controllers; what is asserted is the platform's replica count, the claims and the reasons.
"""
import json
import threading
import uuid

import pytest

from etlkit.controller import ControllerConfig, Edges, KafkaStateStore, parse_scaling, run_tick
from etlkit.controller.claims import FileClaims, KafkaClaims, LocalClaims
from etlkit.controller.ports import FunctionReplicas, Replica
from etlkit.controller.sharing import Claim, compose, explained_by, live_claims, share_of

from .fakes import InlineMatcher, MemoryStore, Platform, Topics

VELOCITY = 100.0  # records/s one filter replica finishes
WORKFLOWS = {  # workflow -> (input topic, its filter operation, records/s it produces)
    "orders": ("orders-raw", "paid-only", 250),
    "host-metrics": ("metrics-raw", "cpu-and-memory", 120),
}


def spec(workflow, max_replicas=5):
    topic, operation, _ = WORKFLOWS[workflow]
    return parse_scaling({"workflow": workflow, "version": 1, "scaling": {
        "interval_ms": 15000, "operations": [{
            "name": operation, "function": "filter",
            "inputs": [{"topic": topic, "consumer_group": f"faas-etl.{workflow}.{topic}"}],
            "min_replicas": 1, "max_replicas": max_replicas, "dtt_ms": 60000, "dtc": 1000}]}})


def config(**env):
    return ControllerConfig.from_env({
        "PLATFORM": "local", "OPENFAAS_URL": "http://127.0.0.1:8080",
        "KAFKA_BOOTSTRAP": "127.0.0.1:9092", "TOPOLOGY_FILE": "config/topology.yml",
        "SCALE_TO_ZERO": "false",
        "SCALING_POLICY": json.dumps({"scale_in_hold_s": 0, "scale_in_refill_s": 60,
                                      "forecast": "last"}), **env})


class Shared:
    """One platform running ``filter``, one claim board, two workflows' traffic through it."""

    def __init__(self, max_replicas=5, **env):
        self.max_replicas = max_replicas
        self.topics = Topics()
        self.platform = Platform({"filter": ["node-a"]})
        self.board = LocalClaims()
        self.store = MemoryStore()
        self.config = config(**env)
        self.now = 0.0
        self.timeline: list[tuple[float, str, int, int, int]] = []
        self.rates = {w: r for w, (_, _, r) in WORKFLOWS.items()}

    def edges(self):
        return Edges(self.topics, self.platform, self.platform, self.platform, InlineMatcher(),
                     self.store, claims=self.board)

    def run(self, seconds, workflows=tuple(WORKFLOWS)):
        """``seconds`` of each workflow's records in; filter's replicas finish what they can,
        shared in proportion to what each workflow has waiting."""
        waiting = {}
        for w in workflows:
            topic, _, _ = WORKFLOWS[w]
            self.topics.produce(topic, int(self.rates[w] * seconds))
            group = f"faas-etl.{w}.{topic}"
            done = self.topics.committed_.get((group, topic), {})
            waiting[w] = sum(self.topics.high[topic].values()) - sum(done.values())
        can = int(self.count() * VELOCITY * seconds)
        total = sum(waiting.values()) or 1
        for w, left in waiting.items():
            topic, _, _ = WORKFLOWS[w]
            finished = min(left, can * left // total)
            self.topics.consume(f"faas-etl.{w}.{topic}", topic, finished)
            self.platform.busy["filter"] += finished / VELOCITY
        self.now += seconds

    def tick(self, workflow):
        before = self.count()
        result = run_tick(spec(workflow, self.max_replicas), self.config, self.edges(),
                          now=self.now)
        assert result.status in ("applied", "unchanged"), result.reason
        share = next((c["replicas"] for c in result.claims if c["function"] == "filter"), -1)
        self.timeline.append((self.now, workflow, share, before, self.count()))
        return result

    def count(self):
        return self.platform.function("filter").desired

    def claims(self):
        return {c.workflow: c.replicas for c in live_claims(self.board.read(), self.now)["filter"]}

    def show(self, title):
        print(f"\n{title} (t, workflow: its claim, filter replicas before -> after)")
        for at, w, share, before, after in self.timeline:
            print(f"  t={at:5.0f}s  {w:<13} claim {share}  filter {before} -> {after}")


def interleave(world, rounds):
    """orders ticks at 15 s steps, host-metrics 5 s after each."""
    for _ in range(rounds):
        world.run(10)
        world.tick("orders")
        world.run(5)
        world.tick("host-metrics")


def test_the_count_is_the_sum_of_the_claims_and_stays_put_over_interleaved_ticks():
    w = Shared()
    w.tick("orders")
    w.tick("host-metrics")
    interleave(w, 8)
    w.show("two workflows on filter")
    # orders needs ceil(250 * 1.1 / 100) = 3, host-metrics ceil(120 * 1.1 / 100) = 2.
    assert w.claims() == {"orders": 3, "host-metrics": 2}
    assert w.count() == 5
    counts = [after for _, _, _, _, after in w.timeline]
    settled = counts.index(5)
    assert counts[settled:] == [5] * (len(counts) - settled), counts  # no flapping
    assert settled <= 6
    # Neither workflow took the other's replicas for a change made behind its back.
    assert not any("changed outside" in r for r in w.tick("orders").reasons)


def test_a_workflow_that_stops_ticking_releases_its_share_when_its_claim_expires():
    w = Shared()
    w.tick("orders")
    w.tick("host-metrics")
    interleave(w, 6)
    assert w.count() == 5
    stopped_at = w.now
    w.timeline.clear()
    for _ in range(5):  # host-metrics is gone: no tick, no traffic
        w.run(15, workflows=("orders",))
        result = w.tick("orders")
    w.show("host-metrics stopped")
    # Its claim of 2 lives 3 periods (45 s) past its last tick: until then the count is orders'
    # claim plus 2, from then on orders' claim alone.
    for at, _, share, _, after in w.timeline:
        assert after == share + (2 if at < stopped_at + 45 else 0), (at, share, after)
    assert w.claims() == {"orders": 3} and w.count() == 3
    assert not any("changed outside" in r for r in result.reasons)


def test_a_claim_above_the_platforms_cap_is_clamped_and_the_reason_says_so():
    w = Shared(PLATFORM_MAX_REPLICAS="5")
    w.tick("orders")
    for _ in range(3):
        w.run(15, workflows=("orders",))
        w.tick("orders")
    assert w.count() == 3
    # A host-metrics controller that knows no cap claims 7 of filter.
    w.board.post("host-metrics", [Claim("host-metrics", "filter", 7, w.now, w.now + 45, 7, 1, 8)])
    w.run(15, workflows=("orders",))
    result = w.tick("orders")
    assert w.count() == 5
    assert any("filter: 10 replicas claimed (host-metrics 7 + orders 3), above the platform's "
               "most 5 (PLATFORM_MAX_REPLICAS): set to 5" in r for r in result.reasons), \
        result.reasons


def test_a_deploy_reset_of_a_shared_function_is_set_back_to_the_composed_count():
    """faas-netes sets replicas to com.openfaas.scale.min on every deploy (openfaas/faas-netes
    0.18.17 pkg/handlers/update.go updateDeploymentSpec)."""
    w = Shared()
    w.tick("orders")
    w.tick("host-metrics")
    interleave(w, 6)
    assert w.count() == 5
    w.platform.scale("filter", 1)  # the deploy
    w.run(10)
    result = w.tick("orders")
    assert w.count() == 5 and w.claims() == {"orders": 3, "host-metrics": 2}
    assert any("filter: 1 replicas desired, but the controllers last set 5 and the claims "
               "compose 5: changed outside them" in r for r in result.reasons), result.reasons


def test_a_workflow_changing_its_claim_is_not_a_change_outside_for_the_other():
    w = Shared(max_replicas=8)
    w.tick("orders")
    w.tick("host-metrics")
    interleave(w, 6)
    w.rates["host-metrics"] = 400  # host-metrics needs 5 now: 3 + 5 = 8
    w.run(15)
    up = w.tick("host-metrics")
    assert w.count() == 8, up.reasons
    w.run(10)
    seen = w.tick("orders")  # finds 8 where it last set 5
    assert w.count() == 8 and not any("changed outside" in r for r in seen.reasons)
    assert w.claims() == {"orders": 3, "host-metrics": 5}


# -- the pure rule -----------------------------------------------------------------------------

def claim(workflow, replicas, at=0.0, until=45.0, set_=0, low=1, high=5, serving=()):
    return Claim(workflow, "filter", replicas, at, until, set_, low, high, tuple(serving))


@pytest.mark.parametrize("claims, cap, count, clamped", [
    ([claim("a", 2), claim("b", 3)], None, 5, False),
    # each share at least its workflow's minimum
    ([claim("a", 1), claim("b", 1, low=2)], None, 3, False),
    # an idle workflow's zero counts as zero (a platform that scales to zero)
    ([claim("a", 0, low=1), claim("b", 2)], None, 2, False),
    ([claim("a", 4), claim("b", 4)], None, 5, True),
    ([claim("a", 4, high=8), claim("b", 4)], 5, 5, True),
], ids=["sum", "min-of-each", "idle-zero", "function-max", "platform-cap"])
def test_compose(claims, cap, count, clamped):
    result = compose("filter", claims, cap)
    assert (result.count, result.clamped) == (count, clamped), result.reason


def test_an_expired_claim_is_not_live_and_the_newest_claim_of_a_workflow_wins():
    claims = [claim("a", 2, at=0, until=45), claim("a", 3, at=15, until=60),
              claim("b", 1, at=0, until=30)]
    assert live_claims(claims, 40)["filter"] == (claims[1],)


def test_a_count_a_claimant_last_set_is_explained():
    claims = [claim("a", 2, set_=4), claim("b", 3, set_=5)]
    comp = compose("filter", claims, None)
    assert explained_by(5, comp, claims) and explained_by(4, comp, claims)
    assert not explained_by(1, comp, claims)


def test_the_share_is_served_by_the_replicas_counted_before_then_the_unclaimed_ones():
    whole = FunctionReplicas("filter", 4, tuple(Replica(f"f-{i}", n) for i, n in
                                                enumerate("abab")))
    mine = claim("orders", 2, serving=("f-3",))
    share = share_of(whole, mine, [claim("hm", 2, serving=("f-0",))])
    assert [r.id for r in share.view.replicas] == ["f-1", "f-3"]
    assert share.view.desired == 2 and dict(share.others_on) == {"a": 2}


# -- the boards, and two ticks at the same instant ---------------------------------------------

class Racing:
    """A claim board whose first read in each of two threads waits for the other's: both ticks
    have read the claims before either posts its own (the worst interleaving)."""

    def __init__(self, board):
        self.board, self.barrier = board, threading.Barrier(2)
        self.first = threading.local()

    def post(self, workflow, claims):
        self.board.post(workflow, claims)

    def read(self):
        claims = self.board.read()
        if not getattr(self.first, "done", False):
            self.first.done = True
            self.barrier.wait(timeout=20)
        return claims


class Locked:
    """The fake platform, one call at a time (two controllers call it from two threads)."""

    def __init__(self, platform):
        self.platform, self.lock = platform, threading.Lock()

    def __getattr__(self, name):
        method = getattr(self.platform, name)

        def call(*args):
            with self.lock:
                return method(*args)
        return call


@pytest.fixture(params=["kafka", "file"])
def board(request, tmp_path, broker):
    if request.param == "kafka":
        topic = f"claims-{uuid.uuid4().hex[:6]}"
        return KafkaClaims(KafkaStateStore(broker.bootstrap, topic))
    return FileClaims(tmp_path)


def test_a_board_keeps_the_latest_claims_of_every_workflow(board):
    board.post("orders", [claim("orders", 2)])
    board.post("host-metrics", [claim("host-metrics", 1)])
    board.post("orders", [claim("orders", 3, at=15, until=60)])
    assert sorted((c.workflow, c.replicas) for c in board.read()) == [("host-metrics", 1),
                                                                     ("orders", 3)]


def test_two_workflows_ticking_at_the_same_instant_lose_no_claim(board):
    w = Shared(max_replicas=10)
    w.board = board
    w.tick("orders")
    w.tick("host-metrics")
    interleave(w, 4)
    before = w.claims()
    w.rates = {"orders": 450, "host-metrics": 300}  # both need more, at the same instant
    w.run(15)
    w.board = Racing(board)
    w.platform = Locked(w.platform)
    results = {}
    threads = [threading.Thread(target=lambda n=n: results.__setitem__(n, w.tick(n)))
               for n in WORKFLOWS]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    w.show(f"two ticks at t={w.now:.0f}s on the {type(board).__name__} board")
    w.board = board
    claims = w.claims()
    assert set(claims) == {"orders", "host-metrics"}
    assert claims == {n: next(c["replicas"] for c in r.claims) for n, r in results.items()}
    # Both claims on the board are the ones these two ticks posted (none lost, none stale). What
    # each decided may differ with the threads' order (a tick that applies first changes what the
    # other measures), so the shares themselves are not compared with the ones before.
    posted = {c.workflow: c.at for c in live_claims(board.read(), w.now)["filter"]}
    assert posted == {n: w.now for n in WORKFLOWS}, (before, claims, posted)
    assert w.count() == sum(claims.values()), [r.reasons for r in results.values()]
