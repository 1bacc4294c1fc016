"""The stack of ``faas-etl chaos --real``: the chaos data path on the real binaries.

* PostgreSQL (the warehouse), durable, as :class:`~.environment.ChaosStack` runs it.
* :func:`devstack.realstack.real_stack` with ``kafka_nodes=3``: the pod bridge, nats-server with
  JetStream as the EventBus, a three-node Apache Kafka (topics with 3 replicas,
  ``min.insync.replicas=2``, producers ``acks=all``), the gateway and the data path's functions.
* The chaos workflow's EventSources and Sensors as real ``argo-events`` v1.9.11 processes, one
  pod each (:class:`devstack.realargo.runner.RealArgoRunner`), so one of them can be killed -9.

The EventBus is the committed one with one change, a small ``maxMsgs`` (:data:`STREAM_MAX_MSGS`):
the committed stream has no message limit (``maxMsgs: -1``, 8 GiB), which a run of minutes
cannot fill; a limit a stalled Sensor overruns within seconds shows what a full stream does
(interest retention, discard new: the server refuses the EventSource's publish, the EventSource
does not mark the Kafka offset, so the records wait in Kafka; argo-events v1.9.11
``pkg/eventsources/sources/kafka/start.go`` ``processOne`` marks only after ``dispatch``
returned without error).
"""
from __future__ import annotations

import contextlib
import pathlib
from typing import Callable


from ..broker import create_topics
from .config import ChaosConfig
from .environment import DURABLE, StartedStack, _postgres_server_class, scale_functions
from .workflow import FUNCTIONS, DataPath

KAFKA_NODES = 3
STREAM_MAX_MSGS = 400       # the EventBus stream's limit in a real chaos run (see above)
TRIGGER_TIMEOUT = "10s"     # the Sensors' HTTP trigger timeout; the slow-function fault passes it
# The chaos path on the real stack: the same workflow with a shorter trigger timeout, so that a
# function stalled past it costs seconds of a short run rather than half a minute.
REAL_CHAOS = DataPath(timeout=TRIGGER_TIMEOUT)


def chaos_eventbus(max_msgs: int = STREAM_MAX_MSGS) -> dict:
    """The committed EventBus ``default`` with the stream's ``maxMsgs`` set to ``max_msgs``."""
    from ..realargo.harness import load_eventbus
    from ..realargo.scenario import eventbus_with_stream_config

    return eventbus_with_stream_config(load_eventbus(), f"maxMsgs: {max_msgs}")


class RealChaosStack(StartedStack):
    """``with RealChaosStack(run_dir, config, say) as env``: everything up, then down again."""

    path = REAL_CHAOS

    def __init__(self, run_dir: pathlib.Path, config: ChaosConfig,
                 say: Callable[[str], None] = lambda msg: None):
        self.run_dir, self.config, self.say = pathlib.Path(run_dir), config, say
        self.postgres = None
        self.parts = None     # devstack.realstack.RealParts
        self.runner = None    # devstack.realargo.runner.RealArgoRunner
        self.topics: dict[str, int] = {}
        self.restarts: dict[str, int] = {}  # Argo object -> how often a fault replaced its process
        self._exit = contextlib.ExitStack()

    @property
    def stack(self):
        return self.parts.stack

    @property
    def kafka(self):
        return self.parts.kafka

    @property
    def bus(self):
        return self.parts.argo.bus

    @property
    def bootstrap(self) -> str:
        return self.kafka.bootstrap

    @property
    def ingest_url(self) -> str:
        return self.stack.url + self.path.ingest_path()

    @property
    def auth(self) -> tuple[str, str]:
        creds = self.stack.credentials
        return creds.user, creds.password

    @property
    def runner_starts(self) -> int:
        return 1 + sum(self.restarts.values())

    def up(self) -> "RealChaosStack":
        from ..realstack import real_stack

        self.run_dir.mkdir(parents=True, exist_ok=True)
        self.postgres = _postgres_server_class()(settings=DURABLE)
        self._exit.callback(self.postgres.close)
        self.postgres.start()
        self.say(f"warehouse: PostgreSQL on {self.postgres.url_without_password}")
        secrets_dir = self.run_dir / "secrets"
        secrets_dir.mkdir(parents=True, exist_ok=True)
        password_file = secrets_dir / "warehouse-password"
        password_file.write_text(self.postgres.password)
        password_file.chmod(0o600)
        self.parts = self._exit.enter_context(real_stack(
            self.run_dir, say=self.say, functions=list(FUNCTIONS), kafka_nodes=KAFKA_NODES,
            extra_env={"WAREHOUSE_URL": self.postgres.url_without_password},
            eventbus=chaos_eventbus()))
        scale_functions(self.stack, self.config.replicas)
        self.say(f"gateway {self.stack.url}: {', '.join(FUNCTIONS)} x{self.config.replicas}")
        self.topics = self.path.write_manifests(self.run_dir / "chaos", FUNCTIONS)
        create_topics(self.bootstrap, self.topics, replication_factor=KAFKA_NODES)
        self.runner = self.parts.argo.runner(self.run_dir / "chaos" / "argo-events",
                                             self.kafka.pod_bootstrap, self.stack.url).start()
        self.runner.release_s = 0  # nothing restarts on these groups after the run
        procs = ", ".join(f"{p.kind} {p.name} (pid {p.pid})" for p in self.runner.processes.values())
        self.say(f"argo-events: {procs}")
        return self

    def down(self) -> None:
        # The real stack stops its runners (RealArgo.stop), Kafka, the bus and the pods; then
        # PostgreSQL: the reverse of up(), also after a partial up().
        self._exit.close()
