"""The EventBus: one nats-server with JetStream, and the bus config its clients are given.

In a cluster the Argo Events controller installs a JetStream EventBus as a StatefulSet and
writes what its clients need into ``EventBus.status.config`` (``v1alpha1.BusConfig``,
``pkg/apis/events/v1alpha1/eventbus_types.go``), which every EventSource and Sensor pod gets as
``EVENTBUS_CONFIG``. :func:`bus_config` builds that object the way
``pkg/reconciler/eventbus/installer/jetstream.go`` (``Install``) does:

* ``url``: ``nats://<service>.<namespace>.svc:4222`` there; here the local server's address.
* ``streamConfig``: the controller config's default ``streamConfig``
  (``manifests/base/controller-manager/controller-config.yaml``: 50,000 messages, 168h, three
  replicas, discard old) merged with ``spec.jetstream.streamConfig`` through viper, then written
  back as YAML: viper lowercases every key, Go's YAML encoder sorts them. Locally one setting
  more: one replica (:data:`LOCAL_STREAM_SETTINGS`), as there is one server, not three.
  Nobody creates the stream up front: the first EventSource or Sensor process to connect does,
  from this text (``pkg/eventbus/jetstream/base/jetstream.go``, ``Init`` -> ``CreateStream``,
  read with viper: ``retention``, ``discard``, ``maxMsgs``, ``maxAge``, ``maxBytes``,
  ``replicas``, ``duplicates``), and never changes one that exists. So the local bus gets the
  committed EventBus's settings exactly as a cluster does; :func:`stream_settings` reads back
  what the server made of them.
* TLS: the clients always connect with TLS (``pkg/eventbus/jetstream/base/jetstream.go``,
  ``MakeConnection``: ``nats.Secure`` with ``InsecureSkipVerify`` when the bus config has no
  ``tls``; the NATS leader elector likewise), so a server without TLS is refused ("secure
  connection not available"). The controller's server has a self-signed certificate
  (``installer/assets/jetstream/server-auth.conf``); ours gets one too, made with ``openssl`` at
  start, valid for the bridge address.
* ``accessSecret``: the controller always generates basic-auth credentials and mounts them at
  ``/etc/eventbus/auth/auth.yaml`` in every pod. Here the server has no auth and the config no
  ``accessSecret``: the clients then connect without credentials and the leader election goes
  over NATS unauthenticated (``pkg/shared/leaderelection/leaderelection.go``), which keeps the
  fixed ``/etc`` path out of it. The server listens on the pod bridge only.

:func:`held_events` reads ``/jsz`` (the monitoring port, on the bridge address too): the
events a Sensor has not finished, i.e. each durable consumer's ``num_pending`` (in the stream,
not yet fetched) plus ``num_ack_pending`` (fetched, not yet acknowledged; with ``atLeastOnce``
a Sensor acknowledges only once its trigger is done, ``pkg/eventbus/jetstream/sensor/
trigger_conn.go``).
"""
from __future__ import annotations

import json
import pathlib
import shutil
import subprocess
import time
import urllib.request
from dataclasses import dataclass
from typing import Any, Mapping

import yaml

from .. import realtools
from ..ports import free_port, wait_for_port
from ..procs import start_logged, stop_process
from etlkit.controller.eventbus import STREAM, consumers, stream_detail

# The default streamConfig of the controller's config map, verbatim (controller-config.yaml, v1.9.11).
CONTROLLER_STREAM_CONFIG = """\
# The default properties of the streams to be created in this JetStream service
maxMsgs: 50000
maxAge: 168h
maxBytes: -1
replicas: 3
duplicates: 300s
# 0: Limits, 1: Interest, 2: WorkQueue
retention: 0
# 0: DiscardOld, 1: DiscardNew
discard: 0
"""

# The one setting the local bus changes: the stream's replicas. The controller's default is 3 (its
# EventBus runs three nats-servers, spec.jetstream.replicas); one server refuses a replicated
# stream ("replicas > 1 not supported in non-clustered mode"), and every Sensor and EventSource
# then fails to start (pkg/eventbus/jetstream/base/jetstream.go, CreateStream).
LOCAL_STREAM_SETTINGS = {"replicas": 1}


class EventBusError(RuntimeError):
    pass


def _lower_keys(value: Any) -> Any:
    if isinstance(value, Mapping):
        return {str(k).lower(): _lower_keys(v) for k, v in value.items()}
    return value


def merged_stream_config(eventbus: Mapping[str, Any], defaults: str = CONTROLLER_STREAM_CONFIG,
                         local: Mapping[str, Any] | None = None) -> str:
    """The ``streamConfig`` text the controller puts in the bus config for this EventBus, with
    ``local`` settings over it (see :data:`LOCAL_STREAM_SETTINGS`)."""
    jetstream = (eventbus.get("spec") or {}).get("jetstream")
    if not isinstance(jetstream, Mapping):
        raise EventBusError(f"EventBus {(eventbus.get('metadata') or {}).get('name')!r}: "
                            "spec.jetstream: only a JetStream EventBus runs locally")
    settings = _lower_keys(yaml.safe_load(defaults) or {})
    override = jetstream.get("streamConfig")
    if override:
        settings.update(_lower_keys(yaml.safe_load(override) or {}))  # viper MergeConfig: top-level keys
    settings.update(_lower_keys(dict(local or {})))
    return yaml.safe_dump(settings, sort_keys=True, default_flow_style=False)


def bus_config(eventbus: Mapping[str, Any], url: str,
               local: Mapping[str, Any] | None = LOCAL_STREAM_SETTINGS) -> dict[str, Any]:
    """``v1alpha1.BusConfig`` as JSON: ``{"jetstream": {"url", "streamConfig"}}``."""
    return {"jetstream": {"url": url, "streamConfig": merged_stream_config(eventbus, local=local)}}


def held_events(jsz: Mapping[str, Any], names: set[str] | None = None) -> int:
    """Events in the bus that a Sensor's consumer has not acknowledged yet (``names``: only those)."""
    return sum(c.held for c in consumers(jsz).values() if names is None or c.name in names)


@dataclass(frozen=True)
class StreamState:
    messages: int
    bytes: int
    first_seq: int  # 1 and last_seq == messages: nothing ever left the stream
    last_seq: int


def stream_state(jsz: Mapping[str, Any], stream: str = STREAM) -> StreamState:
    """What ``stream`` holds now (all zero when it does not exist yet)."""
    state = (stream_detail(jsz, stream) or {}).get("state") or {}
    return StreamState(int(state.get("messages", 0)), int(state.get("bytes", 0)),
                       int(state.get("first_seq", 0)), int(state.get("last_seq", 0)))


@dataclass(frozen=True)
class StreamSettings:
    """What the server made of a stream's config (``/jsz?config=true``); -1 and 0 mean no limit."""
    retention: str  # "limits", "interest" or "workqueue"
    discard: str  # "old" or "new"
    max_msgs: int
    max_bytes: int
    max_age_ns: int
    replicas: int
    duplicates_ns: int


def stream_settings(jsz: Mapping[str, Any], stream: str = STREAM) -> StreamSettings | None:
    """The config of ``stream`` in a ``/jsz?streams=true&config=true`` answer (None: no such stream)."""
    detail = stream_detail(jsz, stream)
    if detail is None:
        return None
    c = detail.get("config") or {}
    return StreamSettings(str(c.get("retention")), str(c.get("discard")),
                          int(c.get("max_msgs", 0)), int(c.get("max_bytes", 0)),
                          int(c.get("max_age", 0)), int(c.get("num_replicas", 0)),
                          int(c.get("duplicate_window", 0)))


class NatsEventBus:
    """nats-server with JetStream on ``host`` (the pod bridge): client and monitoring ports."""

    def __init__(self, host: str, run_dir: pathlib.Path):
        self.host, self.run_dir = host, pathlib.Path(run_dir)
        self.port = 0
        self.monitor_port = 0
        self._proc: subprocess.Popen | None = None

    @property
    def url(self) -> str:
        return f"nats://{self.host}:{self.port}"

    @property
    def monitor_url(self) -> str:
        return f"http://{self.host}:{self.monitor_port}"

    @property
    def log_path(self) -> pathlib.Path:
        return self.run_dir / "logs" / "nats-server.log"

    def config_text(self) -> str:
        store, tls = self.run_dir / "jetstream", self.run_dir / "tls"
        return (f"server_name: faas-etl-eventbus\n"
                f"listen: \"{self.host}:{self.port}\"\n"
                f"http: \"{self.host}:{self.monitor_port}\"\n"
                f"jetstream {{\n  store_dir: {json.dumps(str(store))}\n}}\n"
                f"tls {{\n  cert_file: {json.dumps(str(tls / 'server-cert.pem'))}\n"
                f"  key_file: {json.dumps(str(tls / 'server-key.pem'))}\n}}\n")

    def _certificate(self) -> None:
        """A self-signed server certificate for the bridge address (the clients skip verification)."""
        tls = self.run_dir / "tls"
        tls.mkdir(parents=True, exist_ok=True)
        openssl = shutil.which("openssl")
        if not openssl:
            raise EventBusError("no `openssl` on PATH: the EventBus needs a TLS certificate")
        done = subprocess.run([openssl, "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1",
                               "-nodes", "-days", "3650", "-subj", "/O=io.argoproj",
                               "-addext", f"subjectAltName=IP:{self.host}",
                               "-keyout", str(tls / "server-key.pem"), "-out", str(tls / "server-cert.pem")],
                              capture_output=True, text=True, timeout=30)
        if done.returncode != 0:
            raise EventBusError(f"openssl req: {done.stderr.strip()}")

    def start(self, timeout: float = 15.0) -> "NatsEventBus":
        binary = realtools.nats_server()
        self.port, self.monitor_port = free_port(), free_port()
        conf = self.run_dir / "nats-server.conf"
        conf.parent.mkdir(parents=True, exist_ok=True)
        self._certificate()
        conf.write_text(self.config_text())
        self._proc = start_logged([str(binary), "-c", str(conf)], self.log_path)
        try:
            wait_for_port(self.host, self.port, timeout, alive=lambda: self._proc.poll() is None)
            wait_for_port(self.host, self.monitor_port, timeout, alive=lambda: self._proc.poll() is None)
        except TimeoutError as exc:
            self.stop()
            raise EventBusError(f"nats-server did not listen on {self.host}:{self.port} "
                                f"(log {self.log_path})") from exc
        return self

    def alive(self) -> bool:
        return self._proc is not None and self._proc.poll() is None

    def jsz(self) -> dict[str, Any]:
        url = f"{self.monitor_url}/jsz?accounts=true&streams=true&consumers=true&config=true"
        with urllib.request.urlopen(url, timeout=5) as resp:
            return json.loads(resp.read())

    def held_events(self, names: set[str] | None = None) -> int:
        return held_events(self.jsz(), names)

    def wait_consumers(self, names: set[str], timeout: float, alive=lambda: True) -> None:
        """Until every durable consumer in ``names`` exists on the stream."""
        deadline = time.monotonic() + timeout
        while True:
            missing = names - set(consumers(self.jsz()))
            if not missing:
                return
            if not alive():
                raise EventBusError(f"a Sensor exited before its consumers {sorted(missing)} existed")
            if time.monotonic() > deadline:
                raise EventBusError(f"consumers {sorted(missing)} not created within {timeout:.0f}s")
            time.sleep(0.1)

    def stop(self) -> None:
        stop_process(self._proc, 10)
        self._proc = None
