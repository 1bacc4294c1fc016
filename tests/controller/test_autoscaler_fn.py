"""The autoscaler and matcher functions on the local stack, over the gateway.

The controller ticks a one-operation workflow whose function is a stand-in worker: records on a
real topic, a real consumer group's commits, real invocations (so the gateway has busy seconds),
and the controller scales the worker's real processes.
"""
import uuid

import pytest
from confluent_kafka import Consumer, Producer, TopicPartition

pytestmark = pytest.mark.slow


def _envelope(fn, topic, group, max_replicas=3, dtc=1000):
    return {"workflow": f"wf-{fn}", "version": 1, "scaling": {"interval_ms": 15000, "operations": [
        {"name": "work", "function": fn, "inputs": [{"topic": topic, "consumer_group": group}],
         "min_replicas": 1, "max_replicas": max_replicas, "dtt_ms": 60000, "dtc": dtc}]},
        "event": {"eventTime": "now"}}


@pytest.fixture
def flow(local_stack, worker):
    topic, group = f"ctl-in-{uuid.uuid4().hex[:6]}", f"ctl-g-{uuid.uuid4().hex[:6]}"
    local_stack.create_topics({topic: 2})
    return topic, group


def _produce(bootstrap, topic, n):
    producer = Producer({"bootstrap.servers": bootstrap, "linger.ms": 20})
    for i in range(n):
        producer.produce(topic, value=b"{}", key=str(i).encode())
    assert producer.flush(15) == 0


def _commit(bootstrap, group, topic, offsets):
    member = Consumer({"bootstrap.servers": bootstrap, "group.id": group, "enable.auto.commit": False})
    member.commit(offsets=[TopicPartition(topic, p, o) for p, o in offsets.items()], asynchronous=False)
    member.close()


def _instances(s, url, fn):
    doc = s.get(f"{url}/system/function/{fn}").json()
    return doc["replicas"], sorted(i["node"] for i in doc["instances"])


def test_a_dry_run_plans_and_changes_nothing(local_stack, gateway, worker, flow):
    s, url = gateway
    topic, group = flow
    resp = s.post(f"{url}/function/autoscaler?dry_run=true", json=_envelope(worker, topic, group))
    assert resp.status_code == 200, resp.text
    tick = resp.json()
    assert tick["status"] == "planned" and tick["dry_run"] is True
    assert any("input rate not measured yet" in r for r in tick["reasons"])
    # Nothing saved: the workflow has no tick yet.
    assert s.get(f"{url}/function/autoscaler?workflow=wf-{worker}").status_code == 404


def test_ticks_over_the_gateway_scale_the_worker_out_and_status_shows_why(local_stack, gateway,
                                                                          worker, flow):
    s, url = gateway
    topic, group = flow
    body = _envelope(worker, topic, group)
    first = s.post(f"{url}/function/autoscaler", json=body)
    assert first.status_code == 200 and first.json()["status"] == "unchanged", first.text
    _produce(local_stack.bootstrap, topic, 4000)
    _commit(local_stack.bootstrap, group, topic, {0: 100, 1: 100})
    for _ in range(4):  # 200 records in ~0.2 s of calls: ~1000 records/s per replica
        assert s.post(f"{url}/function/{worker}?ms=50", data=b"{}").status_code == 200
    second = s.post(f"{url}/function/autoscaler", json=body)
    assert second.status_code == 200, second.text
    tick = second.json()
    assert tick["status"] == "applied", tick["reasons"]
    assert tick["targets"] == {worker: 3}
    (measured,) = tick["measurements"]
    assert measured["backlog"] == 3800 and measured["velocity"] > 0
    replicas, nodes = _instances(s, url, worker)
    assert replicas == 3 and len(nodes) == 3
    status = s.get(f"{url}/function/autoscaler?workflow=wf-{worker}").json()
    assert status["last_tick"]["status"] == "applied"
    assert any("required" in r and worker in r for r in status["last_tick"]["reasons"])
    assert status["last_tick"]["actions"] == [f"scale {worker} 1 -> 3"]


def test_a_tick_that_cannot_gather_changes_nothing_and_says_why(local_stack, gateway, worker):
    s, url = gateway
    body = _envelope(worker, f"missing-{uuid.uuid4().hex[:6]}", "g")
    before = _instances(s, url, worker)
    resp = s.post(f"{url}/function/autoscaler", json=body)
    assert resp.status_code == 503
    tick = resp.json()
    assert tick["status"] == "unreachable"
    assert "nothing changed" in tick["reason"] and "does not exist" in tick["reason"]
    assert _instances(s, url, worker) == before


def test_a_bad_envelope_is_a_400_naming_the_field(gateway):
    s, url = gateway
    resp = s.post(f"{url}/function/autoscaler", json={"workflow": "w", "scaling": {
        "interval_ms": 1000, "operations": [{"name": "x"}]}})
    assert resp.status_code == 400
    assert resp.json()["error"].startswith("scaling.operations[0].function:")


def test_the_matcher_function_solves_a_hand_checked_instance(gateway):
    # scheduler.md: U1@/dc1/rA/n1, U2@/dc1/rA/n2, D1@n2, D2@/dc1/rB/n3; greedy and round robin
    # both cost 6, the optimum 4 (U1->D2 at 4, U2->D1 at 0).
    s, url = gateway
    body = {"upstream": [{"service_id": "u1", "node": "n1", "velocity": 1},
                         {"service_id": "u2", "node": "n2", "velocity": 1}],
            "downstream": [{"service_id": "d1", "node": "n2", "velocity": 1},
                           {"service_id": "d2", "node": "n3", "velocity": 1}],
            "nodes": [{"name": "n1", "region": "dc1", "zone": "rA", "hostname": "n1"},
                      {"name": "n2", "region": "dc1", "zone": "rA", "hostname": "n2"},
                      {"name": "n3", "region": "dc1", "zone": "rB", "hostname": "n3"}]}
    resp = s.post(f"{url}/function/matcher", json=body)
    assert resp.status_code == 200, resp.text
    out = resp.json()
    assert (out["total_flow"], out["total_cost"]) == (2.0, 4.0)
    assert sorted(map(tuple, out["flows"])) == [("u1", "d2", 1.0, 4.0), ("u2", "d1", 1.0, 0.0)]
    rr = s.post(f"{url}/function/matcher", json={**body, "algorithm": "round-robin"}).json()
    assert rr["total_cost"] == 6.0


def test_the_matcher_names_the_field_it_refuses(gateway):
    s, url = gateway
    resp = s.post(f"{url}/function/matcher", json={
        "upstream": [{"service_id": "u1", "node": "n9", "velocity": 1}], "downstream": [],
        "nodes": [{"name": "n1"}]})
    assert resp.status_code == 400
    assert resp.json()["error"].startswith("upstream[0].node: must name a known node")


def test_a_controller_killed_between_ticks_carries_on_from_its_memory(local_stack, gateway, flow):
    import os
    import signal

    from .conftest import deploy

    s, url = gateway
    topic, group = flow
    fn = deploy(local_stack, f"ctl-worker-{uuid.uuid4().hex[:6]}", "tests/controller/functions/worker")
    body = _envelope(fn, topic, group)
    assert s.post(f"{url}/function/autoscaler", json=body).json()["status"] == "unchanged"
    (old,) = s.get(f"{url}/system/function/autoscaler").json()["instances"]
    os.kill(old["pid"], signal.SIGKILL)  # the process and all it held in memory are gone
    _produce(local_stack.bootstrap, topic, 3000)
    _commit(local_stack.bootstrap, group, topic, {0: 100, 1: 100})
    for _ in range(4):
        assert s.post(f"{url}/function/{fn}?ms=50", data=b"{}").status_code == 200
    resp = s.post(f"{url}/function/autoscaler", json=body)  # the gateway starts a new replica
    assert resp.status_code == 200, resp.text
    tick = resp.json()
    (new,) = s.get(f"{url}/system/function/autoscaler").json()["instances"]
    assert new["pid"] != old["pid"]
    # The rate needed the first tick's sample: it came back from the state topic.
    (measured,) = tick["measurements"]
    assert measured["production_rate"] > 0 and tick["status"] == "applied", tick["reasons"]
    assert s.get(f"{url}/function/autoscaler?workflow=wf-{fn}").json()["ticks"] == 2
