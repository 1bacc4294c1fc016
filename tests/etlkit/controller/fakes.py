"""Test doubles of the controller's edges: each a few lines, as the protocols are narrow."""
from __future__ import annotations

import itertools

from etlkit.controller import EdgeError, FunctionReplicas, Replica, TopicOffsets
from etlkit.controller.errors import ApplyError, FunctionMissing
from etlkit.scheduler import Node, match_services

NODES = (Node("node-a", "local", "zone-1", "node-a", capacity=16),
         Node("node-b", "local", "zone-1", "node-b", capacity=16),
         Node("node-c", "local", "zone-2", "node-c", capacity=16))


class Topics:
    """Offsets of topics and groups, moved by the test; ``down`` makes every read fail."""

    def __init__(self, partitions: int = 2):
        self.partitions = partitions
        self.high: dict[str, dict[int, int]] = {}
        self.committed_: dict[tuple[str, str], dict[int, int]] = {}
        self.per_message: dict[str, int] = {}  # records per message of a topic (else 1, unsampled)
        self.down = False

    def produce(self, topic: str, records: int) -> None:
        high = self.high.setdefault(topic, dict.fromkeys(range(self.partitions), 0))
        for p in range(self.partitions):
            high[p] += records // self.partitions + (p < records % self.partitions)

    def consume(self, group: str, topic: str, records: int) -> None:
        done = self.committed_.setdefault((group, topic), dict.fromkeys(range(self.partitions), 0))
        high = self.high.setdefault(topic, dict.fromkeys(range(self.partitions), 0))
        for p in range(self.partitions):
            take = min(records, high[p] - done[p])
            done[p] += take
            records -= take

    def end_offsets(self, topics):
        if self.down:
            raise EdgeError("kafka", "no metadata from 127.0.0.1:9 (timed out)")
        return {t: TopicOffsets(dict(self.high.setdefault(t, dict.fromkeys(range(self.partitions), 0))),
                                dict.fromkeys(range(self.partitions), 0),
                                4 if t in self.per_message else 0, 4 * self.per_message.get(t, 0))
                for t in topics}

    def committed(self, group, topic, partitions):
        done = self.committed_.get((group, topic), {})
        return {p: done.get(p) for p in partitions}


class Bus:
    """Events the Sensors hold, per filter subject (``None``: no EventBus); ``down`` fails."""

    def __init__(self, held: dict[str, int] | None = None):
        self.held_, self.down = held, False

    def held(self):
        if self.down:
            raise EdgeError("eventbus", "GET http://127.0.0.1:9/jsz: ConnectionError")
        return None if self.held_ is None else dict(self.held_)


class Platform:
    """Functions with replicas on nodes; places a new replica on the least-loaded node (ties
    in node order) and removes the newest, like the local gateway. ``fail_on`` makes scaling
    that function fail; ``keeps_placement`` makes it a platform with node affinity."""

    def __init__(self, functions: dict[str, list[str]], nodes=NODES, keeps_placement=False):
        self._ids = itertools.count(100)
        self.nodes_ = list(nodes)
        self.replicas = {f: [Replica(f"{f}-{next(self._ids)}", n) for n in on]
                         for f, on in functions.items()}
        self.placement = {f: None for f in functions} if not keeps_placement else \
            {f: {} for f in functions}
        self.busy: dict[str, float] = {f: 0.0 for f in functions}
        self.calls: list[tuple] = []
        self.fail_on: set[str] = set()
        self.down = False

    def _load(self):
        load = {n.name: 0 for n in self.nodes_}
        for reps in self.replicas.values():
            for r in reps:
                load[r.node] += 1
        return load

    def nodes(self, ours):
        if self.down:
            raise EdgeError("gateway", "GET /metrics: ConnectionError")
        return list(self.nodes_)

    def function(self, name):
        if self.down:
            raise EdgeError("gateway", f"GET /system/function/{name}: ConnectionError")
        if name not in self.replicas:
            raise FunctionMissing("gateway", f"function {name} is not deployed")
        reps = self.replicas[name]
        return FunctionReplicas(name, len(reps), tuple(reps), 1.0, self.placement[name])

    def busy_seconds(self):
        return dict(self.busy)

    def scale(self, function, replicas):
        self.calls.append(("scale", function, replicas))
        if function in self.fail_on:
            raise ApplyError("gateway", f"scaling {function} to {replicas}: HTTP 500")
        reps = self.replicas[function]
        while len(reps) < replicas:
            load = self._load()
            node = min(self.nodes_, key=lambda n: (load[n.name] / n.capacity, load[n.name]))
            reps.append(Replica(f"{function}-{next(self._ids)}", node.name))
        del reps[replicas:]

    def place(self, function, nodes):
        self.calls.append(("place", function, dict(nodes)))
        self.placement[function] = dict(nodes)


class InlineMatcher:
    def __init__(self):
        self.calls = 0

    def match(self, upstream, downstream, nodes):
        self.calls += 1
        return match_services(upstream, downstream, nodes)


class MemoryStore:
    def __init__(self):
        self.values: dict[str, bytes] = {}
        self.fail_save = False

    def load(self, key):
        return self.values.get(key)

    def save(self, key, value):
        if self.fail_save:
            raise EdgeError("state", "writing faas-etl.controller-state: not acknowledged")
        self.values[key] = value
