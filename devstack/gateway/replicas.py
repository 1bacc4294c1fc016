"""Function deployments and their replicas: each replica is a real worker process.

A worker runs `python index.py` in the function's build folder (what would go into the image), on
its own loopback port, with the deployment's environment plus NODE_NAME. A reconcile loop keeps the
number of live workers equal to the desired replicas, as a Deployment controller would: a worker
killed with -9 is replaced.
"""
from __future__ import annotations

import http.client
import itertools
import os
import pathlib
import queue
import sys
import threading
import time
from dataclasses import dataclass, field

from ..ports import free_port
from ..procs import stop_process
from ..topology import Node, Topology
from .logpipe import start_prefixed
from .upstream import UpstreamConnection

NAMESPACE = "openfaas-fn"
_OPERATORS = ("==", "!=")


class DeployError(ValueError):
    """A deployment request breaks a rule; the message names the field."""


@dataclass
class Deployment:
    """A FunctionDeployment as the OpenFaaS API carries it."""
    service: str
    image: str
    build_dir: pathlib.Path
    env_vars: dict[str, str] = field(default_factory=dict)
    labels: dict[str, str] = field(default_factory=dict)
    annotations: dict[str, str] = field(default_factory=dict)
    secrets: list[str] = field(default_factory=list)
    constraints: list[str] = field(default_factory=list)
    limits: dict[str, str] = field(default_factory=dict)
    requests: dict[str, str] = field(default_factory=dict)
    namespace: str = NAMESPACE
    replicas: int = 1

    def status(self) -> dict:
        return {"name": self.service, "image": self.image, "namespace": self.namespace,
                "envProcess": "python index.py", "envVars": self.env_vars, "labels": self.labels,
                "annotations": self.annotations, "secrets": self.secrets,
                "constraints": self.constraints, "limits": self.limits or None,
                "requests": self.requests or None}


class Worker:
    """One replica: a worker process on a loopback port, with a small connection pool."""
    _ids = itertools.count(1)

    def __init__(self, deployment: Deployment, node: Node, env: dict[str, str], log_dir: pathlib.Path):
        self.id = f"{deployment.service}-{next(self._ids)}"
        self.service = deployment.service
        self.node = node.name
        self.port = free_port()
        self.started = time.time()
        self.ready = False
        self.inflight = 0
        self._pool: queue.SimpleQueue[UpstreamConnection] = queue.SimpleQueue()
        self.log_path = log_dir / f"{self.id}.log"
        # What the template's Dockerfile sets in a cluster (MALLOC_ARENA_MAX: see there).
        child_env = {"MALLOC_ARENA_MAX": "2", **env, **deployment.env_vars, "PORT": str(self.port),
                     "NODE_NAME": node.name, "HOSTNAME": self.id, "PYTHONUNBUFFERED": "1"}
        # Its output as of-watchdog would log it (logpipe.py): `faas-etl logs` reads this file.
        self.proc = start_prefixed([sys.executable, "index.py"], self.log_path,
                                   cwd=deployment.build_dir, env=child_env)

    @property
    def pid(self) -> int:
        return self.proc.pid

    def alive(self) -> bool:
        return self.proc.poll() is None

    def wait_ready(self, timeout: float) -> bool:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline and self.alive():
            try:
                conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=1)
                conn.request("GET", "/_/ready")
                ok = conn.getresponse().status == 200
                conn.close()
                if ok:
                    self.ready = True
                    return True
            except OSError:
                pass
            time.sleep(0.05)
        return False

    def request(self, method: str, path: str, body: bytes, headers: dict[str, str],
                timeout: float) -> tuple[int, list[tuple[str, str]], bytes]:
        conn = None
        while conn is None:  # a kept connection the worker closed while idle is not reused
            try:
                conn = self._pool.get_nowait()
            except queue.Empty:
                conn = UpstreamConnection(self.port, timeout)
                break
            if conn.dropped():
                conn.close()
                conn = None
        try:
            status, answer, data, keep_alive = conn.exchange(method, path, body, headers)
        except Exception:
            conn.close()
            raise
        if keep_alive:
            self._pool.put(conn)
        else:
            conn.close()
        return status, answer.items(), data

    def stop(self, grace: float = 3.0) -> None:
        self.ready = False
        if self.alive():
            stop_process(self.proc, grace)
        while True:
            try:
                self._pool.get_nowait().close()
            except queue.Empty:
                break

    def describe(self) -> dict:
        return {"id": self.id, "node": self.node, "pid": self.pid, "port": self.port,
                "ready": self.ready, "started": self.started}


def _matches(node: Node, constraint: str) -> bool:
    """An OpenFaaS constraint `label == value` or `label != value` against a node's labels."""
    for op in _OPERATORS:
        if op in constraint:
            key, value = (part.strip() for part in constraint.split(op, 1))
            actual = node.label(key)
            return (actual == value) if op == "==" else (actual != value)
    raise DeployError(f"constraints: {constraint!r} is not of the form 'label == value'")


class ReplicaSet:
    """The live replicas of every deployment, kept equal to the desired counts."""

    def __init__(self, topology: Topology, base_env: dict[str, str], log_dir: pathlib.Path,
                 ready_timeout: float = 30.0):
        self.topology = topology
        self.base_env = base_env
        self.log_dir = log_dir
        self.ready_timeout = ready_timeout
        self.deployments: dict[str, Deployment] = {}
        self.workers: dict[str, list[Worker]] = {}
        self._lock = threading.RLock()
        self._rr = itertools.count()
        self._stop = threading.Event()
        self._loop = threading.Thread(target=self._reconcile_loop, name="reconcile", daemon=True)
        self._loop.start()

    # -- placement -------------------------------------------------------------------------
    def _load(self) -> dict[str, int]:
        load = {node.name: 0 for node in self.topology.nodes}
        for workers in self.workers.values():
            for w in workers:
                load[w.node] = load.get(w.node, 0) + 1
        return load

    def _pick_node(self, deployment: Deployment) -> Node:
        """The least-loaded node that satisfies the constraints and has room (ties: file order)."""
        load = self._load()
        allowed = [n for n in self.topology.nodes
                   if all(_matches(n, c) for c in deployment.constraints)
                   and load[n.name] < n.capacity]
        if not allowed:
            raise DeployError(f"constraints: no node with room satisfies {deployment.constraints}")
        return min(allowed, key=lambda n: (load[n.name] / n.capacity, load[n.name]))

    # -- desired state ---------------------------------------------------------------------
    def apply(self, deployment: Deployment) -> None:
        for c in deployment.constraints:
            for node in self.topology.nodes:
                _matches(node, c)  # raises DeployError on a malformed constraint
        with self._lock:
            old = self.deployments.get(deployment.service)
            self.deployments[deployment.service] = deployment
            self.workers.setdefault(deployment.service, [])
            if old is not None and old is not deployment:
                # An update rolls every replica, as a changed pod template would.
                for w in self.workers[deployment.service]:
                    w.stop()
                self.workers[deployment.service] = []
        self.reconcile(deployment.service)

    def scale(self, service: str, replicas: int) -> None:
        with self._lock:
            self.deployments[service].replicas = replicas
        self.reconcile(service)

    def remove(self, service: str) -> None:
        with self._lock:
            self.deployments.pop(service, None)
            workers = self.workers.pop(service, [])
        for w in workers:
            w.stop()

    def reconcile(self, service: str) -> None:
        """Start or stop workers until the live count equals the desired replicas."""
        with self._lock:
            deployment = self.deployments.get(service)
            if deployment is None:
                return
            workers = self.workers[service]
            dead = [w for w in workers if not w.alive()]
            for w in dead:
                workers.remove(w)
            started = []
            while len(workers) < deployment.replicas:
                w = Worker(deployment, self._pick_node(deployment), self.base_env, self.log_dir)
                workers.append(w)
                started.append(w)
            surplus = []
            while len(workers) > deployment.replicas:
                surplus.append(workers.pop())  # newest first, as a ReplicaSet scales in
        for w in surplus:
            w.stop()
        for w in started:
            w.wait_ready(self.ready_timeout)

    def _reconcile_loop(self) -> None:
        while not self._stop.wait(0.5):
            for service in list(self.deployments):
                try:
                    self.reconcile(service)
                except Exception as exc:  # keep reconciling the others
                    print(f"reconcile {service}: {exc}", file=sys.stderr)

    # -- serving ---------------------------------------------------------------------------
    def ready_workers(self, service: str) -> list[Worker]:
        with self._lock:
            return [w for w in self.workers.get(service, []) if w.ready and w.alive()]

    def pick(self, service: str) -> Worker | None:
        """Least in-flight ready worker; scale from zero when there is none."""
        workers = self.ready_workers(service)
        if not workers:
            with self._lock:
                deployment = self.deployments.get(service)
                if deployment is not None and deployment.replicas == 0:
                    deployment.replicas = 1  # scale from zero on the first call
            self.reconcile(service)
            # Another caller may be cold-starting the same replica: wait for it to be ready.
            deadline = time.monotonic() + self.ready_timeout
            while not (workers := self.ready_workers(service)):
                if service not in self.deployments or time.monotonic() > deadline:
                    return None
                time.sleep(0.02)
        offset = next(self._rr)
        return min((workers[(offset + i) % len(workers)] for i in range(len(workers))),
                   key=lambda w: w.inflight)

    def replica_counts(self) -> dict[str, int]:
        with self._lock:
            return {s: len(self.ready_workers(s)) for s in self.deployments}

    def per_node(self) -> dict[tuple[str, str], int]:
        counts: dict[tuple[str, str], int] = {}
        with self._lock:
            for s in self.deployments:
                for w in self.ready_workers(s):
                    counts[(s, w.node)] = counts.get((s, w.node), 0) + 1
        return counts

    def close(self) -> None:
        self._stop.set()
        with self._lock:
            services = list(self.workers)
        for s in services:
            for w in self.workers.get(s, []):
                w.stop()
        self._loop.join(2)
