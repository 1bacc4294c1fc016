"""Real Apache Kafka (KRaft) on loopback: one node, or a three-node cluster for fault tests.

``ApacheKafka`` has :class:`~devstack.broker.EmbeddedBroker`'s interface (``start(timeout)``,
``stop()``, ``alive()``, ``pid``, ``bootstrap``, a context manager) and runs the broker `make
tools` fetched (:func:`devstack.realtools.kafka_classpath`). Every node is one JVM in combined
mode (``process.roles=broker,controller``); the controllers form a static quorum
(``controller.quorum.voters``). Nodes are numbered as Kafka numbers them, ``node.id`` 1..n, so
the leader id a test reads from metadata is the node it can kill::

    with ApacheKafka(nodes=3) as kafka:
        create_topics(kafka.bootstrap, {"t": 3}, replication_factor=3)
        kafka.kill_node(2)     # SIGKILL
        kafka.start_node(2)    # same ports, same data: the node recovers its log and rejoins

Storage: ``data_dir`` (kept) or a temp folder that :meth:`ApacheKafka.stop` removes. Each node's
storage is formatted once (``kafka.tools.StorageTool format``); a node restarted with
``start_node`` keeps its data, and so does a whole cluster started again on a kept ``data_dir``
(the cluster id is read back from node 1's ``meta.properties``). Logs: one file per node,
``<log_dir or data folder>/kafka-node-<id>.log``; a :class:`BrokerError` names it and quotes its
last lines.

Times measured here (2 cores, Java 17; ``start()`` until every node answers metadata listing
every node, storage formatting included), with the machine lightly loaded (load average 3-6) /
busy with other test runs (load 10-20):

- one node: 3.1-3.5 s / 4.5-8.5 s (formatting ~0.8 s of it: a JVM of its own);
- three nodes: 7-9 s / 12-19 s (three JVMs format, then start, on two cores);
- a node's restart: 2-3 s after ``stop_node``, 5-7 s after ``kill_node`` on one node (the
  controller refuses the new registration until the dead one's 4 s session expires), ~5 s on
  three nodes; ``stop()`` of a temp cluster: under 0.2 s.

The JVMs' own start is most of it (``kafka.Kafka`` alone reaches "Kafka Server started" in
~1.75 s on a quiet machine); an AppCDS archive saved only ~0.3 s of that, not worth a 50 MB
file kept in step with the jars.
"""
from __future__ import annotations

import atexit
import base64
import os
import pathlib
import shutil
import signal
import subprocess
import tempfile
import time
import uuid
import weakref
from collections import deque
from collections.abc import Mapping
from concurrent.futures import ThreadPoolExecutor

from . import realtools
from .broker import BrokerError
from .ports import free_port, wait_for_port
from .procs import start_logged, stop_process

# JVM flags per node, each for a reason:
#  -Xmx384m -Xms128m   a test broker holds little; three nodes fit beside the tests in ~1.2 GB.
#  -XX:+UseSerialGC    one GC thread and no concurrent marking: on a 2-core machine running three
#                      brokers and the tests, G1's background threads only compete for CPU, and on
#                      a heap this small its pauses are a few ms anyway. It also starts faster.
#  -XX:TieredStopAtLevel=1   C1 only: no C2 compiler threads burning CPU during start and the
#                      first seconds of traffic; steady-state speed, which C2 would buy, is
#                      irrelevant for test traffic.
#  -XX:-UsePerfData    no hsperfdata file in /tmp per JVM.
#  -XX:+ExitOnOutOfMemoryError   die loudly (the log says why) rather than limp on.
JVM_OPTIONS = ("-Xmx384m", "-Xms128m", "-XX:+UseSerialGC", "-XX:TieredStopAtLevel=1",
               "-XX:-UsePerfData", "-XX:+ExitOnOutOfMemoryError")

# Broker settings that shorten start, join and failover in tests; never production values.
_FAST_SETTINGS = {
    # A consumer group's first join completes at once instead of after 3 s.
    "group.initial.rebalance.delay.ms": 0,
    # The internal topics default to 50 partitions each: creating them (and, on three nodes,
    # replicating 150 partitions) costs seconds at the first group or transaction.
    "offsets.topic.num.partitions": 3,
    "transaction.state.log.num.partitions": 3,
    "share.coordinator.state.topic.num.partitions": 3,
    # A killed node is fenced (and dropped from every ISR, so acks=all produces resume)
    # after 4 s without a heartbeat instead of 9 s.
    "broker.heartbeat.interval.ms": 500,
    "broker.session.timeout.ms": 4000,
    # A follower that stopped fetching leaves the ISR after 10 s, not 30 s.
    "replica.lag.time.max.ms": 10000,
    # Fewer threads per JVM: three brokers share two cores.
    "num.network.threads": 2,
    "num.io.threads": 2,
    "background.threads": 2,
    "num.replica.fetchers": 1,
    "log.cleaner.threads": 1,
}

# Quiet logging: warnings, errors and the one line that says a node started. The
# Console appender writes to the JVM's stdout, which is the node's log file (see _Node.start):
# one writer per file, and what the JVM prints itself (a bind error, an OOM) lands there too.
_LOG4J2 = """\
status = error
appender.out.type = Console
appender.out.name = OUT
appender.out.target = SYSTEM_OUT
appender.out.layout.type = PatternLayout
appender.out.layout.pattern = [%d] %p %m (%c)%n
rootLogger.level = WARN
rootLogger.appenderRefs = out
rootLogger.appenderRef.out.ref = OUT
logger.raftserver.name = kafka.server.KafkaRaftServer
logger.raftserver.level = INFO
"""

_TAIL_LINES = 30

# Clusters with running nodes: killed at interpreter exit if nobody stopped them, so a crashed
# test run leaves no JVMs behind holding ports and memory.
_RUNNING: "weakref.WeakSet[ApacheKafka]" = weakref.WeakSet()


@atexit.register
def _kill_leftovers() -> None:
    for kafka in list(_RUNNING):
        for node in kafka._nodes.values():
            node.stop(signal.SIGKILL)


def new_cluster_id() -> str:
    """A Kafka cluster id (what ``StorageTool random-uuid`` prints), without starting a JVM.

    Kafka's Uuid is 16 random bytes in URL-safe base64 without padding; it never starts with
    ``-`` (that would read as a command-line flag).
    """
    while True:
        text = base64.urlsafe_b64encode(uuid.uuid4().bytes).decode().rstrip("=")
        if not text.startswith("-"):
            return text


def _read_cluster_id(meta: pathlib.Path) -> str | None:
    if not meta.is_file():
        return None
    for line in meta.read_text().splitlines():
        if line.startswith("cluster.id="):
            return line.split("=", 1)[1].strip()
    return None


def add_listener(properties: str, name: str, address: str) -> str:
    """``server.properties`` text with one more PLAINTEXT listener ``name`` on ``address``."""
    out = []
    for line in properties.splitlines():
        key, sep, value = line.partition("=")
        if sep and key in ("listeners", "advertised.listeners"):
            line = f"{key}={value},{name}://{address}"
        elif sep and key == "listener.security.protocol.map":
            line = f"{key}={value},{name}:PLAINTEXT"
        out.append(line)
    text = "\n".join(out) + "\n"
    for key in ("listeners=", "advertised.listeners=", "listener.security.protocol.map="):
        if f"\n{key}" not in f"\n{text}":
            raise ValueError(f"server.properties has no {key.rstrip('=')} line to extend")
    return text


def _tail(path: pathlib.Path, lines: int = _TAIL_LINES) -> str:
    try:
        with open(path, errors="replace") as handle:
            return "".join(deque(handle, maxlen=lines))
    except OSError:
        return "(no log)"


class _Node:
    """One combined broker+controller JVM: its ports, folders and process."""

    def __init__(self, node_id: int, data: pathlib.Path, log_path: pathlib.Path):
        self.node_id = node_id
        self.port = 0
        self.controller_port = 0
        self.extra_ports: dict[str, int] = {}  # extra listener name -> port
        self.dir = data / f"node-{node_id}"
        self.log_path = log_path
        self.proc: subprocess.Popen | None = None

    @property
    def address(self) -> str:
        return f"127.0.0.1:{self.port}"

    @property
    def config(self) -> pathlib.Path:
        return self.dir / "server.properties"

    @property
    def formatted(self) -> bool:
        return (self.dir / "log" / "meta.properties").is_file()

    def write_config(self, voters: str, settings: dict, extra_listeners: Mapping[str, str]) -> None:
        self.dir.mkdir(parents=True, exist_ok=True)
        self.log_path.parent.mkdir(parents=True, exist_ok=True)
        own = {
            "process.roles": "broker,controller",
            "node.id": self.node_id,
            "controller.quorum.voters": voters,
            # Loopback only, for clients, brokers and controllers alike.
            "listeners": f"PLAINTEXT://127.0.0.1:{self.port},"
                         f"CONTROLLER://127.0.0.1:{self.controller_port}",
            "advertised.listeners": f"PLAINTEXT://127.0.0.1:{self.port}",
            "controller.listener.names": "CONTROLLER",
            "inter.broker.listener.name": "PLAINTEXT",
            "listener.security.protocol.map": "PLAINTEXT:PLAINTEXT,CONTROLLER:PLAINTEXT",
            "log.dirs": self.dir / "log",
        }
        lines = [f"{key}={value}" for key, value in {**own, **settings}.items()]
        text = "\n".join(lines) + "\n"
        for name, host in extra_listeners.items():
            text = add_listener(text, name, f"{host}:{self.extra_ports[name]}")
        self.config.write_text(text)

    def format_command(self, cluster_id: str) -> list[str]:
        # With controller.quorum.voters set the quorum is static: no --standalone.
        return [realtools.java(), *JVM_OPTIONS, "-cp", realtools.kafka_classpath(),
                "kafka.tools.StorageTool", "format", "-t", cluster_id, "-c", str(self.config)]

    def start(self, log4j: pathlib.Path) -> None:
        cmd = [realtools.java(), *JVM_OPTIONS, f"-Dlog4j2.configurationFile={log4j}",
               "-cp", realtools.kafka_classpath(), "kafka.Kafka", str(self.config)]
        self.proc = start_logged(cmd, self.log_path, cwd=self.dir,
                                 banner=f"--- node {self.node_id} starting at {time.strftime('%H:%M:%S')}")

    def alive(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    def stop(self, sig: int = signal.SIGTERM, timeout: float = 15.0) -> None:
        """Stop the JVM (SIGTERM: controlled shutdown; SIGKILL: a crash) and wait for it."""
        stop_process(self.proc, timeout, sig)
        self.proc = None

    def error(self, what: str) -> BrokerError:
        return BrokerError(f"Apache Kafka node {self.node_id} {what}; log {self.log_path}, "
                           f"last lines:\n{_tail(self.log_path)}")


class ApacheKafka:
    """Start and stop Apache Kafka (KRaft) on free loopback ports: ``nodes`` combined nodes.

    ``nodes=3``: three broker+controller JVMs with a static quorum; topics default to three
    replicas with ``min.insync.replicas=2``, the internal topics too, so a cluster with one node
    down still accepts ``acks=all`` writes. ``data_dir``: the storage to keep (default: a temp
    folder removed by :meth:`stop`). ``log_dir``: where the node logs go (default: the data
    folder). ``settings``: extra broker properties, applied over the defaults.
    ``extra_listeners``: name -> host; each node gets one more PLAINTEXT listener of that name
    on that host (a free port), advertised there, so a client that bootstraps from
    :meth:`listener_bootstrap` is only sent to those addresses (the controller stays on loopback).
    """

    def __init__(self, data_dir: os.PathLike | str | None = None, nodes: int = 1,
                 log_dir: os.PathLike | str | None = None, settings: dict | None = None,
                 extra_listeners: Mapping[str, str] | None = None):
        if nodes < 1:
            raise ValueError(f"nodes must be 1 or more, got {nodes}")
        self.nodes = nodes
        self._given_dir = pathlib.Path(data_dir) if data_dir is not None else None
        self._log_dir = pathlib.Path(log_dir) if log_dir is not None else None
        self._extra = dict(settings or {})
        self._extra_listeners = dict(extra_listeners or {})
        self.data_dir: pathlib.Path | None = None
        self._nodes: dict[int, _Node] = {}
        self._cluster_id: str | None = None

    # -- what a client needs -------------------------------------------------------------------

    @property
    def bootstrap(self) -> str:
        """Every node's address, comma-separated (a client can start from any that is up)."""
        return ",".join(node.address for node in self._nodes.values())

    def listener_bootstrap(self, name: str) -> str:
        """Every node's address on the extra listener ``name``, comma-separated."""
        host = self._extra_listeners[name]
        return ",".join(f"{host}:{node.extra_ports[name]}" for node in self._nodes.values())

    def node_bootstrap(self, node_id: int) -> str:
        return self._node(node_id).address

    @property
    def pid(self) -> int | None:
        """Node 1's process id (``node_pid`` for the others)."""
        return self.node_pid(1) if self._nodes else None

    def node_pid(self, node_id: int) -> int | None:
        proc = self._node(node_id).proc
        return proc.pid if proc else None

    def log_path(self, node_id: int) -> pathlib.Path:
        return self._node(node_id).log_path

    def alive(self) -> bool:
        """Every node is running."""
        return bool(self._nodes) and all(node.alive() for node in self._nodes.values())

    def node_alive(self, node_id: int) -> bool:
        return self._node(node_id).alive()

    # -- the whole cluster ---------------------------------------------------------------------

    def start(self, timeout: float = 60.0) -> "ApacheKafka":
        """Format storage where it is new, start every node, wait until each answers metadata.

        Ports are picked afresh for each ``start``; a port taken by someone else between the
        pick and the bind makes Kafka exit, and the start is tried again on new ports.
        """
        if any(node.alive() for node in self._nodes.values()):
            raise BrokerError("Apache Kafka is already running: stop() it first")
        realtools.kafka_classpath()  # ToolMissing before any folder appears
        realtools.java()
        if self.data_dir is None:
            self.data_dir = self._given_dir or pathlib.Path(
                tempfile.mkdtemp(prefix="faas-etl-kafka-"))
            self.data_dir.mkdir(parents=True, exist_ok=True)
        log_dir = self._log_dir or self.data_dir
        self._nodes = {i: _Node(i, self.data_dir, log_dir / f"kafka-node-{i}.log")
                       for i in range(1, self.nodes + 1)}
        _RUNNING.add(self)
        deadline = time.monotonic() + timeout
        for attempt in range(1, 4):
            try:
                self._configure()
                self._format(deadline)
                for node in self._nodes.values():
                    node.start(self._log4j())
                self._wait_ready(list(self._nodes.values()), deadline)
                return self
            except BrokerError as exc:
                bind_clash = any("Address already in use" in _tail(n.log_path, 200)
                                 for n in self._nodes.values() if not n.alive())
                for node in self._nodes.values():
                    node.stop(signal.SIGKILL)
                if not bind_clash or attempt == 3 or time.monotonic() > deadline:
                    self._remove_temp()
                    raise exc
        raise AssertionError("unreachable")

    def stop(self) -> None:
        """Stop every node; remove the temp data folder, keep a given one.

        A kept folder gets a clean shutdown (SIGTERM to all nodes at once, 5-7 s on three nodes:
        each broker's controlled shutdown waits out the session of a quorum that is going away).
        A temp folder is about to be deleted, so its nodes are simply killed.
        """
        sig = signal.SIGTERM if self._given_dir is not None else signal.SIGKILL
        with ThreadPoolExecutor(max(1, len(self._nodes))) as pool:
            list(pool.map(lambda node: node.stop(sig, timeout=10.0), self._nodes.values()))
        self._remove_temp()

    def __enter__(self) -> "ApacheKafka":
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()

    # -- one node, for fault tests -------------------------------------------------------------

    def stop_node(self, node_id: int, timeout: float = 15.0) -> None:
        """Stop one node cleanly (SIGTERM: controlled shutdown moves its leaderships away)."""
        self._node(node_id).stop(signal.SIGTERM, timeout)

    def kill_node(self, node_id: int) -> None:
        """Kill one node (SIGKILL): a crash; on restart it recovers its log from disk."""
        self._node(node_id).stop(signal.SIGKILL)

    def start_node(self, node_id: int, timeout: float = 60.0) -> None:
        """Start a stopped node again on its ports and data; wait until it is back in the
        cluster (it answers metadata listing every running node)."""
        node = self._node(node_id)
        if node.alive():
            return
        node.start(self._log4j())
        try:
            self._wait_ready([node], time.monotonic() + timeout)
        except BrokerError:
            node.stop(signal.SIGKILL)  # down, as the error says, not half up
            raise

    # -- internals -----------------------------------------------------------------------------

    def _node(self, node_id: int) -> _Node:
        try:
            return self._nodes[node_id]
        except KeyError:
            raise ValueError(f"no node {node_id}: nodes are 1..{self.nodes} "
                             f"({'started' if self._nodes else 'not started'})") from None

    def _settings(self) -> dict:
        replicas = min(self.nodes, 3)
        isr = 2 if replicas >= 3 else 1
        return {**_FAST_SETTINGS,
                "default.replication.factor": replicas,
                "min.insync.replicas": isr,
                "offsets.topic.replication.factor": replicas,
                "transaction.state.log.replication.factor": replicas,
                "transaction.state.log.min.isr": isr,
                "share.coordinator.state.topic.replication.factor": replicas,
                "share.coordinator.state.topic.min.isr": isr,
                **self._extra}

    def _configure(self) -> None:
        taken: set[int] = set()
        for node in self._nodes.values():
            node.port, node.controller_port = (self._fresh_port(taken) for _ in range(2))
            node.extra_ports = {name: self._fresh_port(taken) for name in self._extra_listeners}
        voters = ",".join(f"{n.node_id}@127.0.0.1:{n.controller_port}"
                          for n in self._nodes.values())
        for node in self._nodes.values():
            node.write_config(voters, self._settings(), self._extra_listeners)

    @staticmethod
    def _fresh_port(taken: set[int]) -> int:
        while (port := free_port()) in taken:
            pass
        taken.add(port)
        return port

    def _log4j(self) -> pathlib.Path:
        path = self.data_dir / "log4j2.properties"
        if not path.is_file():
            path.write_text(_LOG4J2)
        return path

    def _format(self, deadline: float) -> None:
        """Format every node whose storage is new, in parallel (each is a JVM start, ~1.5 s)."""
        self._cluster_id = self._cluster_id or _read_cluster_id(
            self._nodes[1].dir / "log" / "meta.properties") or new_cluster_id()
        todo = [node for node in self._nodes.values() if not node.formatted]

        def run(node: _Node) -> None:
            with open(node.log_path, "ab") as log:
                try:
                    done = subprocess.run(node.format_command(self._cluster_id), stdout=log,
                                          stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                                          timeout=max(1.0, deadline - time.monotonic()))
                except subprocess.TimeoutExpired:
                    raise node.error("storage format did not finish in time") from None
            if done.returncode != 0:
                raise node.error(f"storage format failed (exit {done.returncode})")

        with ThreadPoolExecutor(max(1, len(todo))) as pool:
            list(pool.map(run, todo))

    def _wait_ready(self, nodes: list[_Node], deadline: float) -> None:
        """Wait until each node answers metadata itself and lists every running node."""
        for node in nodes:
            try:
                wait_for_port("127.0.0.1", node.port, max(0.0, deadline - time.monotonic()),
                              alive=node.alive)
            except TimeoutError:
                raise node.error("exited before it listened" if not node.alive()
                                 else "did not listen in time") from None
        for node in nodes:
            self._wait_metadata(node, deadline)

    def _wait_metadata(self, node: _Node, deadline: float) -> None:
        from confluent_kafka.admin import AdminClient

        last, running = "no answer", set()
        while time.monotonic() < deadline:
            if not node.alive():
                raise node.error("exited during start")
            running = {n.node_id for n in self._nodes.values() if n.alive()}
            # A fresh client knows only this node, so the answer is this node's own (a client
            # kept across attempts asks whichever broker it learnt of).
            admin = AdminClient({"bootstrap.servers": node.address, "log_level": 0})
            try:
                metadata = admin.list_topics(timeout=1.0)
            except Exception as exc:  # KafkaException: not answering yet
                last = str(exc)
                continue
            listed = set(metadata.brokers)
            if metadata.orig_broker_id == node.node_id and running <= listed:
                return
            last = f"answered by node {metadata.orig_broker_id}, listing nodes {sorted(listed)}"
            time.sleep(0.1)
        raise node.error(f"did not answer metadata listing nodes {sorted(running)} in time "
                         f"({last})")

    def _remove_temp(self) -> None:
        if self.data_dir is not None and self._given_dir is None:
            shutil.rmtree(self.data_dir, ignore_errors=True)
            self.data_dir = None
