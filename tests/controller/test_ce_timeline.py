"""The autoscaler's ticks on the OpenFaaS CE path, with nothing fighting them (issue 16 item 4).

The controller is wired as in a CE cluster (``PLATFORM=openfaas-ce``, :func:`build_edges`): it
reads and sets replicas only through the gateway's API with basic auth, against the local gateway
in its CE edition (tests/devstack/gateway/test_ce_edition.py holds its answers to upstream), which
runs the stand-in worker's replicas as real processes; offsets come from the embedded broker; the
busy seconds from the gateway's metrics text (what the chart's Prometheus scrapes from port 8082).
The worker carries the labels every function the autoscaler sizes carries (stack.yml): CE's alert
scaling is off (``com.openfaas.scale.factor: "0"``), and the stand-in has none anyway.

The run: a surge scales the worker up (bounded to CE's 5 although the workflow allows 8, said in
the decision log); a deploy resets it to ``com.openfaas.scale.min`` as faas-netes does, and the
next tick sets it back; the backlog drained, it scales down to its minimum. The replica timeline
(tick x replicas) is printed.
"""
import json
import pathlib
import uuid

import pytest
from confluent_kafka import Consumer, Producer, TopicPartition

from devstack.broker import EmbeddedBroker, create_topics
from etlkit.controller import ControllerConfig, parse_scaling, run_tick
from etlkit.controller.wiring import build_edges
from tests.devstack.gateway.own_gateway import start_gateway

pytestmark = pytest.mark.slow

REPO = pathlib.Path(__file__).resolve().parents[2]
FN = "ce-worker"
LABELS = {"com.openfaas.scale.min": "1", "com.openfaas.scale.max": "5",
          "com.openfaas.scale.factor": "0", "faas-etl.dev/role": "step"}


@pytest.fixture(scope="module")
def ce_stack(tmp_path_factory):
    root = tmp_path_factory.mktemp("ce-stack")
    broker = EmbeddedBroker(log_path=root / "broker.log").start()
    handler = (REPO / "tests" / "controller" / "functions" / "worker" / "handler.py").read_text()
    gw, session = start_gateway(root, FN, handler, edition="ce", labels=LABELS)
    yield root, broker, gw, session
    session.close()
    gw.stop()
    broker.stop()


class Run:
    """Traffic on a real topic and group, real calls through the gateway, ticks of the
    controller at simulated times 15 s apart."""

    def __init__(self, root, broker, gw, session):
        self.broker, self.gw, self.session = broker, gw, session
        self.topic, self.group = f"ce-in-{uuid.uuid4().hex[:6]}", f"ce-g-{uuid.uuid4().hex[:6]}"
        create_topics(broker.bootstrap, {self.topic: 2})
        self.produced = self.committed = 0
        self.config = ControllerConfig.from_env({
            "PLATFORM": "openfaas-ce", "OPENFAAS_URL": gw.url,
            "GATEWAY_METRICS_URL": f"{gw.url}/metrics", "KAFKA_BOOTSTRAP": broker.bootstrap,
            "STATE_STORE": "file", "STATE_DIR": str(root / "state"), "MATCHER": "inline",
            "EVENTBUS_MONITOR_URL": "none", "STARTUP_DELAY_S": "5",
            "SCALING_POLICY": json.dumps({"scale_in_hold_s": 0, "scale_in_refill_s": 60,
                                          "idle_after_s": 30, "forecast": "last"})})
        self.edges = build_edges(self.config, secrets_dir=str(root / "secrets"))
        self.spec = parse_scaling({"workflow": f"wf-{self.topic}", "version": 1, "scaling": {
            "interval_ms": 15000, "operations": [{
                "name": "work", "function": FN,
                "inputs": [{"topic": self.topic, "consumer_group": self.group}],
                "min_replicas": 1, "max_replicas": 8, "dtt_ms": 60000, "dtc": 1000}]}})
        self.now = 0.0
        self.timeline: list[tuple[float, int, int, str]] = []

    def produce(self, n):
        producer = Producer({"bootstrap.servers": self.broker.bootstrap, "linger.ms": 20})
        for i in range(n):
            producer.produce(self.topic, value=b"{}", key=str(self.produced + i).encode())
        assert producer.flush(15) == 0
        self.produced += n

    def consume(self, n, calls, ms):
        """``n`` records finished (committed, half per partition) in ``calls`` real calls of
        ``ms`` each: the gateway counts their seconds."""
        self.committed = min(self.produced, self.committed + n)
        member = Consumer({"bootstrap.servers": self.broker.bootstrap, "group.id": self.group,
                           "enable.auto.commit": False})
        member.commit(offsets=[TopicPartition(self.topic, p, self.committed // 2 + (p < self.committed % 2))
                               for p in (0, 1)], asynchronous=False)
        member.close()
        for _ in range(calls):
            assert self.session.post(f"{self.gw.url}/function/{FN}?ms={ms}", data=b"{}",
                                     timeout=30).status_code == 200

    def replicas(self):
        return self.session.get(f"{self.gw.url}/system/function/{FN}").json()["replicas"]

    def tick(self):
        before = self.replicas()
        result = run_tick(self.spec, self.config, self.edges, now=self.now)
        assert result.status in ("applied", "unchanged"), result.reason
        why = next((r for r in result.reasons if " because " in r), result.reason)
        self.timeline.append((self.now, before, self.replicas(), why))
        self.now += 15.0
        return result


def test_a_scale_up_a_reset_set_back_and_a_scale_down_through_ces_gateway_api(ce_stack):
    run = Run(*ce_stack)
    assert run.tick().status == "unchanged"  # the first sample
    # A surge: 15 s of 2000 records/s in, 200 finished in 1 s of calls (200/s per replica).
    run.produce(30000)
    run.consume(200, calls=4, ms=250)
    up = run.tick()
    assert up.status == "applied", up.reasons
    assert up.targets == {FN: 5}  # CE's most, though the workflow allows 8
    assert any("max_replicas 8 lowered to 5" in r and "OpenFaaS CE allows 1..5" in r
               for r in up.reasons)
    assert run.replicas() == 5
    # `faas-cli up` redeploys the function: faas-netes sets its replicas to scale.min.
    resp = run.session.put(f"{run.gw.url}/system/functions", json={
        "service": FN, "image": f"local/{FN}:dev", "labels": LABELS})
    assert resp.status_code == 202 and run.replicas() == 1
    run.produce(3000)
    run.consume(3000, calls=4, ms=50)
    back = run.tick()
    assert back.actions == ("scale ce-worker 1 -> 5",), back.reasons
    assert any("changed outside it" in r for r in back.reasons)
    assert run.replicas() == 5
    # The backlog drained and nothing new: down to the minimum, never to zero (CE cannot).
    for _ in range(6):
        run.consume(run.produced, calls=1, ms=10)
        if run.tick().targets.get(FN) == 1:
            break
    assert run.replicas() == 1
    print("\nreplica timeline on the CE path (tick at s: replicas before -> after | why)")
    for at, before, after, reason in run.timeline:
        print(f"  t={at:5.0f}s  {before} -> {after}  | {reason[:160]}")
    counts = [after for _, _, after, _ in run.timeline]
    assert counts[0] == 1 and 5 in counts and counts[-1] == 1
