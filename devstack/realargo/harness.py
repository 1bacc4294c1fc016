"""The real-Argo side of a local stack: the pod network, the EventBus, runners on demand.

::

    with RealArgo(run_dir) as argo:                           # bridge + nats-server on it
        stack = LocalStack(run_dir=run_dir, host=argo.host)   # broker and gateway on the bridge
        stack.up()
        run = WorkflowRun(stack, workflow, warehouse_url=url, runner_factory=argo.runner_for)

With Apache Kafka (:class:`devstack.realargo.kafka.PodReachableKafka`) the host's clients use its
loopback listener (``LocalStack(kafka_bootstrap=kafka.bootstrap, host=argo.host)``) and the
pods its bridge listener (``argo.pod_kafka = kafka.pod_bootstrap``).

Teardown (``stop``, also when a test fails): every Argo process of every runner it made, the
nats-server, every pod namespace and veth, the bridge.
"""
from __future__ import annotations

import pathlib
from typing import Any, Collection, Mapping
from urllib.parse import urlsplit

import yaml

from .eventbus import NatsEventBus
from .localise import local_addresses
from .podnet import PodNetwork
from .runner import GROUP_RELEASE_S, RealArgoRunner

REPO = pathlib.Path(__file__).resolve().parents[2]


def load_eventbus(root: pathlib.Path = REPO, name: str = "default") -> dict[str, Any]:
    """The committed EventBus ``name`` (``argo-events/eventbus/``)."""
    for path in sorted((root / "argo-events" / "eventbus").glob("*.y*ml")):
        for doc in yaml.safe_load_all(path.read_text(encoding="utf-8")):
            if isinstance(doc, dict) and doc.get("kind") == "EventBus" and doc["metadata"]["name"] == name:
                return doc
    raise FileNotFoundError(f"no EventBus {name!r} under {root / 'argo-events' / 'eventbus'}")


class RealArgo:
    def __init__(self, run_dir: pathlib.Path, root: pathlib.Path = REPO,
                 eventbus: Mapping[str, Any] | None = None, release_s: float = GROUP_RELEASE_S):
        self.run_dir, self.root = pathlib.Path(run_dir), root
        self.release_s = release_s  # RealArgoRunner.stop: wait for the groups (0 on Tansu)
        # Kafka's bootstrap as the pods reach it, when it differs from the stack's (a
        # PodReachableKafka's pod_bootstrap); empty: the stack's, which then listens on the bridge.
        self.pod_kafka = ""
        self.eventbus = dict(eventbus or load_eventbus(root))
        self.network = PodNetwork()
        self.bus: NatsEventBus | None = None
        self.runners: list[RealArgoRunner] = []

    @property
    def host(self) -> str:
        """The bridge address: where servers the pods must reach listen."""
        return self.network.host

    def start(self) -> "RealArgo":
        self.network.start()
        try:
            self.bus = NatsEventBus(self.network.host, self.run_dir / "eventbus").start()
        except BaseException:
            self.network.stop()
            raise
        return self

    def runner(self, manifest_dir: pathlib.Path, kafka_bootstrap: str, gateway_url: str,
               sensors: Collection[str] | None = None) -> RealArgoRunner:
        """A runner (not started) for a folder of manifests against this Kafka and gateway."""
        runner = RealArgoRunner(manifest_dir, network=self.network, bus=self.bus, eventbus=self.eventbus,
                                addresses=local_addresses(kafka_bootstrap, urlsplit(gateway_url).netloc),
                                run_dir=self.run_dir, sensors=sensors, release_s=self.release_s)
        self.runners.append(runner)
        return runner

    def runner_for(self, run) -> RealArgoRunner:
        """``WorkflowRun(runner_factory=...)``: the run's selected manifests, its stack's Kafka and gateway."""
        return self.runner(run.manifest_dir, self.pod_kafka or run.stack.bootstrap, run.stack.url)

    def stop(self) -> None:
        try:
            for runner in self.runners:
                runner.stop()
            self.runners.clear()
        finally:
            try:
                if self.bus is not None:
                    self.bus.stop()
                    self.bus = None
            finally:
                self.network.stop()

    def __enter__(self) -> "RealArgo":
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()
