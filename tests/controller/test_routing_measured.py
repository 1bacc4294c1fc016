"""The matching applied on the data path, and its traffic cost measured, on 3 nodes in 2 zones.

Real worker processes on the local gateway's nodes (config/topology.yml: node-a and node-b in
zone-1, node-c in zone-2): an upstream function kept off node-b produces records stamped with
its node onto a link topic; the matcher function plans the routes to a downstream function's
replicas; a relay follows them; every downstream replica writes down, per record it got, where
the record came from and where it landed. The cost of that traffic (topology distance per
record) is what was measured, compared with the plan and with the gateway's own balancing.
"""
import json
import pathlib
import time
import uuid

import pytest

from etlkit.controller.gateway import load_topology
from etlkit.controller.relay import Relay
from etlkit.controller.routing import LinkRoutes, RouteSplitter, link_routes, measured_cost
from etlkit.scheduler import Endpoint, ServiceMatching

from .conftest import deploy

pytestmark = pytest.mark.slow
REPO = pathlib.Path(__file__).resolve().parents[2]
CALLS, PER_CALL = 30, 20  # records: 600


@pytest.fixture(scope="module")
def chain(local_stack):
    tag = uuid.uuid4().hex[:6]
    record_dir = local_stack.run_dir / f"routes-{tag}"
    record_dir.mkdir()
    up = deploy(local_stack, f"ctl-up-{tag}", "tests/controller/functions/upstream", replicas=3,
                constraints=["kubernetes.io/hostname != node-b"])
    down = deploy(local_stack, f"ctl-down-{tag}", "tests/controller/functions/downstream",
                  env={"RECORD_DIR": str(record_dir)}, replicas=3)
    link = f"ctl-link-{tag}"
    local_stack.create_topics({link: 3})
    return up, down, link, record_dir


def _replicas(session, url, fn):
    doc = session.get(f"{url}/system/function/{fn}").json()
    return doc["instances"]


def _received(record_dir, name, expected, timeout=30.0):
    path = record_dir / f"{name}.jsonl"
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        lines = path.read_text().splitlines() if path.exists() else []
        if len(lines) >= expected:
            break
        time.sleep(0.1)
    counts: dict[tuple[str, str], int] = {}
    for line in lines:
        row = json.loads(line)
        counts[(row["origin"], row["node"])] = counts.get((row["origin"], row["node"]), 0) + 1
    return counts


def test_routed_traffic_costs_what_the_matcher_planned_and_less_than_round_robin(
        local_stack, gateway, chain):
    s, url = gateway
    up, down, link, record_dir = chain
    nodes = {n.name: n.topology for n in load_topology(REPO / "config" / "topology.yml")}
    ups, downs = _replicas(s, url, up), _replicas(s, url, down)
    assert len(ups) == 3 and "node-b" not in {r["node"] for r in ups}
    # Equal velocities: the routes' shares are what each upstream node is expected to send.
    up_ends = [Endpoint(r["id"], r["node"], 100.0) for r in ups]
    down_ends = [Endpoint(r["id"], r["node"], 100.0) for r in downs]
    answer = s.post(f"{url}/function/matcher", json={
        "upstream": [vars(e) for e in up_ends], "downstream": [vars(e) for e in down_ends],
        "nodes": [{"name": n.name, "region": n.region, "zone": n.zone, "hostname": n.hostname}
                  for n in nodes.values()]})
    assert answer.status_code == 200, answer.text
    routes = link_routes(up, down, ServiceMatching.from_dict(answer.json()), up_ends, down_ends)
    assert LinkRoutes.from_dict(routes.to_dict()) == routes

    # The upstream replicas produce (the gateway takes them in turn: 10 calls each).
    for _ in range(CALLS):
        resp = s.post(f"{url}/function/{up}", json={"topic": link, "count": PER_CALL})
        assert resp.status_code == 200, resp.text
    total = CALLS * PER_CALL

    # Routed: the relay follows the plan, invoking the chosen replica directly.
    by_node: dict[str, list[str]] = {}
    for r in downs:
        by_node.setdefault(r["node"], []).append(r["id"])
    splitter = RouteSplitter(routes, by_node)
    relay = Relay(local_stack.bootstrap, link, f"relay-{uuid.uuid4().hex[:6]}", splitter,
                  {r["id"]: f"http://127.0.0.1:{r['port']}" for r in downs},
                  lambda events: {"workflow": "t", "file": "routed", "events": events})
    try:
        deadline = time.monotonic() + 60
        while relay.delivered < total and time.monotonic() < deadline:
            relay.poll_once()
    finally:
        relay.close()
    assert relay.delivered == total
    routed = _received(record_dir, "routed", total)
    assert sum(routed.values()) == total
    assert routed == splitter.counters.counts  # what was sent is what arrived, route by route

    # Round robin: the same records through the gateway, which balances over replicas.
    from confluent_kafka import Consumer, TopicPartition
    reader = Consumer({"bootstrap.servers": local_stack.bootstrap, "group.id": f"rr-{uuid.uuid4().hex[:6]}",
                       "enable.auto.commit": False})
    reader.assign([TopicPartition(link, p, 0) for p in range(3)])
    events = []
    while len(events) < total:
        events += [m for m in reader.consume(500, timeout=1.0) if m.error() is None]
    reader.close()
    from etlkit.controller.relay import event_of
    for msg in events:
        resp = s.post(f"{url}/function/{down}", json={"file": "gateway", "events": [event_of(msg)]})
        assert resp.status_code == 200
    balanced = _received(record_dir, "gateway", total)

    planned = routes.cost_per_record
    measured = measured_cost(routed, nodes)
    round_robin = measured_cost(balanced, nodes)
    print(f"\nupstream on {sorted(r['node'] for r in ups)}, downstream on {sorted(r['node'] for r in downs)}")
    print(f"planned {planned:.3f}, measured {measured:.3f}, gateway round robin "
          f"{round_robin:.3f} (distance per record, {total} records)")
    assert measured == pytest.approx(planned, rel=0.10)
    assert measured < round_robin
