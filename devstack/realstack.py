"""The local stack on the real components, for ``faas-etl run`` and ``faas-etl up --real``.

The parts, in the order they start (and stop in reverse, also when a start fails):

1. the pod network and the EventBus (:class:`devstack.realargo.harness.RealArgo`: a private
   bridge, one network namespace per Argo Events process, nats-server with JetStream on it);
2. Apache Kafka, one KRaft node with a listener on loopback for the host's clients and one on the
   bridge for the pods (:class:`devstack.realargo.kafka.PodReachableKafka`);
3. the local gateway and every function's replicas (:class:`~devstack.localstack.LocalStack`),
   listening on the bridge address, where the real Sensors reach them.

:func:`choose_here` picks the real parts or the stand-ins for a mode on this machine;
:func:`started_stack` starts either and gives the runner factory for its workflows.

A :class:`~devstack.pipeline.run.WorkflowRun` given ``runner_factory=parts.runner_factory``
then runs its committed EventSources and Sensors as the real ``argo-events`` processes, each in a
pod of its own. Teardown stops those processes, the stack, Kafka, the EventBus, every pod
namespace and the bridge. As tests/e2e/test_orders_real.py, which runs the same parts.
"""
from __future__ import annotations

import contextlib
import pathlib
from dataclasses import dataclass
from typing import Any, Callable, Iterator

from . import realtools
from .localstack import LocalStack
from .stackchoice import STAND_IN, StackChoice, choose_stack

# Topics created locally keep everything, as Tansu does: Kafka's default time retention (7
# days) would delete the sample's records, all stamped in 2024, at the first retention pass.
# And no topic appears by itself, as on the committed cluster (k8s/kafka/kafka-cluster.yaml):
# a misspelt topic fails instead of quietly becoming a new one.
LOCAL_KAFKA = {"log.retention.ms": -1, "auto.create.topics.enable": "false"}


@dataclass
class RealParts:
    stack: LocalStack
    argo: Any  # devstack.realargo.harness.RealArgo
    kafka: Any  # devstack.realargo.kafka.PodReachableKafka

    @property
    def runner_factory(self) -> Callable[[Any], Any]:
        """``WorkflowRun(runner_factory=...)``: the run's Sensors as real Argo Events processes."""
        return self.argo.runner_for


@contextlib.contextmanager
def real_stack(run_dir: pathlib.Path, *, say: Callable[[str], None] = lambda m: None,
               gateway_port: int = 0, kafka_data: pathlib.Path | None = None,
               kafka_settings: dict[str, Any] | None = None, functions: list[str] | None = None,
               extra_env: dict[str, str] | None = None, release_s: float = 0.0,
               kafka_nodes: int = 1, eventbus: dict[str, Any] | None = None) -> Iterator[RealParts]:
    """The started real-parts stack in ``run_dir``; everything stopped on leaving.

    ``kafka_data``: Kafka's data folder (kept), or None for a temporary one removed at the end;
    ``kafka_settings``: broker settings over :data:`LOCAL_KAFKA`; ``functions``, ``extra_env``:
    as :class:`~devstack.localstack.LocalStack` takes them; ``release_s``: how long a stopped
    runner waits for Kafka to expire the group members its EventSources leave behind (0: no
    wait; a restart on the same groups, a replay, needs it); ``kafka_nodes``: 1, or 3 for a
    three-node cluster whose topics the stack creates with 3 replicas (min.insync.replicas=2);
    ``eventbus``: the EventBus document to run (default: the committed ``default``).
    """
    from .realargo.harness import RealArgo
    from .realargo.kafka import PodReachableKafka

    run_dir = pathlib.Path(run_dir)
    run_dir.mkdir(parents=True, exist_ok=True)
    say("starting the pod network and the EventBus (nats-server with JetStream)")
    argo = RealArgo(run_dir / "real-argo", eventbus=eventbus, release_s=release_s).start()
    kafka = stack = None
    try:
        say(f"pod bridge at {argo.host}; starting Apache Kafka ({kafka_nodes} node{'s' * (kafka_nodes > 1)})")
        kafka = PodReachableKafka(argo.host, nodes=kafka_nodes, data_dir=kafka_data, log_dir=run_dir / "logs",
                                  settings={**LOCAL_KAFKA, **(kafka_settings or {})}).start()
        argo.pod_kafka = kafka.pod_bootstrap
        say(f"Apache Kafka at {kafka.bootstrap} (pods: {kafka.pod_bootstrap})")
        # The autoscaler reads the Sensors' held events from the bus (etlkit/controller/eventbus.py).
        env = {"EVENTBUS_MONITOR_URL": argo.bus.monitor_url, **(extra_env or {})}
        stack = LocalStack(run_dir=run_dir, kafka_bootstrap=kafka.bootstrap, host=argo.host,
                           gateway_port=gateway_port, functions=functions, extra_env=env,
                           replication_factor=min(kafka_nodes, 3))
        stack.up(progress=say)
        yield RealParts(stack, argo, kafka)
    finally:
        try:
            if stack is not None:
                stack.down()
            if kafka is not None:
                kafka.stop()
        finally:
            argo.stop()


def choose_here(mode: str) -> StackChoice:
    """:func:`~devstack.stackchoice.choose_stack` for ``mode`` on this machine (what the real
    parts miss is asked only when they may be chosen)."""
    return choose_stack(mode, realtools.real_parts_missing() if mode != STAND_IN else ())


@contextlib.contextmanager
def started_stack(real: bool, run_dir: pathlib.Path, *, say: Callable[[str], None] = lambda m: None,
                  gateway_port: int = 0, kafka_nodes: int = 1,
                  kafka_data: pathlib.Path | None = None) -> Iterator[tuple[LocalStack, Callable | None]]:
    """The started stack, the real parts (:func:`real_stack`) or the stand-ins, and the runner
    factory for its workflows (None: the local runner); stopped on leaving."""
    if real:
        with real_stack(run_dir, say=say, gateway_port=gateway_port, kafka_data=kafka_data,
                        kafka_nodes=kafka_nodes) as parts:
            yield parts.stack, parts.runner_factory
        return
    stack = LocalStack(run_dir=run_dir, gateway_port=gateway_port)
    try:
        stack.up(progress=say)
        yield stack, None
    finally:
        stack.down()
