"""One EventSource or Sensor as the real ``argo-events`` process, in a pod of its own.

What a pod gets, from the controller that builds its Deployment
(``pkg/reconciler/sensor/resource.go`` and ``pkg/reconciler/eventsource/resource.go``,
``buildDeployment``, Argo Events v1.9.11), and what :func:`pod_env` gives the process:

* ``SENSOR_OBJECT`` / ``EVENTSOURCE_OBJECT``: base64 of the JSON of a copy of the object that
  keeps only ``metadata.name``, ``metadata.namespace`` and ``spec`` (labels, annotations and
  status are not passed on);
* ``EVENTBUS_CONFIG``: base64 of the JSON of the EventBus's ``status.config``
  (:func:`devstack.realargo.eventbus.bus_config`);
* ``EVENTBUS_SUBJECT``: ``eventbus-<namespace>``;
* ``POD_NAME``: the pod's name (the Deployment's ``<name>-sensor-`` / ``<name>-eventsource-``
  prefix, here with a serial number instead of the ReplicaSet and pod hashes);
* ``LEADER_ELECTION``: the object's ``events.argoproj.io/leader-election`` annotation, empty when
  unset (then, with JetStream, the election runs over NATS).

The pod's container args are ``sensor-service`` / ``eventsource-service``. One variable more is
the binary's own need outside a cluster: ``KUBECONFIG`` (``pkg/sensors/cmd/start.go`` builds
Kubernetes clients at start, in-cluster config otherwise; they are used only by Kubernetes
triggers and Kubernetes leader election, neither of which runs here). It names a kubeconfig whose
API server is the pod's own loopback on a port nothing listens on, so a client that did try
would fail at once, inside the pod. ``PATH`` and ``HOME`` complete what a container image would
set. The pod's ``/tmp`` is an emptyDir there; here a folder of the run bound over ``/tmp`` in the
process's own mount namespace (see :meth:`ArgoProcess.start`).
"""
from __future__ import annotations

import base64
import json
import os
import pathlib
import subprocess
from dataclasses import dataclass
from typing import Any, Mapping

from .. import realtools
from ..procs import start_logged, stop_process
from .podnet import Pod

LEADER_ELECTION_ANNOTATION = "events.argoproj.io/leader-election"
METRICS_PORT = 7777  # v1alpha1.SensorMetricsPort / EventSourceMetricsPort, on every interface of the pod
COMMANDS = {"Sensor": "sensor-service", "EventSource": "eventsource-service"}
OBJECT_VARIABLES = {"Sensor": "SENSOR_OBJECT", "EventSource": "EVENTSOURCE_OBJECT"}
POD_SUFFIX = {"Sensor": "sensor", "EventSource": "eventsource"}
UNREACHABLE_API_SERVER = "https://127.0.0.1:1"
POD_KUBECONFIG = "/tmp/kubeconfig"  # inside the pod's own /tmp (see ArgoProcess.start)

KUBECONFIG_TEMPLATE = """\
# A kubeconfig for an Argo Events process outside Kubernetes: the binary needs one to start
# (pkg/sensors/cmd/start.go); nothing here uses the API server, which is unreachable on purpose.
apiVersion: v1
kind: Config
clusters:
- name: none
  cluster:
    server: {server}
users:
- name: none
  user: {{}}
contexts:
- name: none
  context: {{cluster: none, user: none, namespace: {namespace}}}
current-context: none
"""


def b64json(value: Any) -> str:
    return base64.b64encode(json.dumps(value, separators=(",", ":")).encode()).decode()


def object_copy(document: Mapping[str, Any]) -> dict[str, Any]:
    """What ``buildDeployment`` marshals: only name, namespace and spec of the object."""
    meta = document.get("metadata") or {}
    return {"metadata": {"name": meta.get("name"), "namespace": meta.get("namespace")},
            "spec": document.get("spec") or {}}


def pod_name(document: Mapping[str, Any], serial: int) -> str:
    kind = str(document.get("kind"))
    return f"{document['metadata']['name']}-{POD_SUFFIX[kind]}-{serial}"


def pod_env(document: Mapping[str, Any], bus: Mapping[str, Any], pod: str,
            kubeconfig: str = POD_KUBECONFIG) -> dict[str, str]:
    """The variables the controller gives the pod of ``document`` (a Sensor or an EventSource),
    plus ``KUBECONFIG`` (see the module docstring)."""
    kind = str(document.get("kind"))
    if kind not in OBJECT_VARIABLES:
        raise ValueError(f"{kind}: only Sensors and EventSources run as Argo Events processes")
    meta = document.get("metadata") or {}
    return {
        OBJECT_VARIABLES[kind]: b64json(object_copy(document)),
        "EVENTBUS_SUBJECT": f"eventbus-{meta.get('namespace')}",
        "POD_NAME": pod,
        "LEADER_ELECTION": str((meta.get("annotations") or {}).get(LEADER_ELECTION_ANNOTATION, "")),
        "EVENTBUS_CONFIG": b64json(bus),
        "KUBECONFIG": kubeconfig,
    }


def write_kubeconfig(path: pathlib.Path, namespace: str) -> pathlib.Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(KUBECONFIG_TEMPLATE.format(server=UNREACHABLE_API_SERVER, namespace=namespace))
    return path


@dataclass
class ArgoProcess:
    """The real binary for one object, in ``pod``; logs to ``log_path``."""

    document: Mapping[str, Any]
    pod: Pod
    env: dict[str, str]
    log_path: pathlib.Path
    workdir: pathlib.Path
    proc: subprocess.Popen | None = None

    @property
    def kind(self) -> str:
        return str(self.document["kind"])

    @property
    def name(self) -> str:
        return str(self.document["metadata"]["name"])

    @property
    def metrics_url(self) -> str:
        return f"http://{self.pod.address}:{METRICS_PORT}/metrics"

    def start(self) -> "ArgoProcess":
        self.workdir.mkdir(parents=True, exist_ok=True)
        (self.workdir / "tmp").mkdir(exist_ok=True)
        write_kubeconfig(self.workdir / "tmp" / pathlib.PurePath(POD_KUBECONFIG).name,
                         str((self.document.get("metadata") or {}).get("namespace")))
        env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "HOME": str(self.workdir), **self.env}
        # The pod's own /tmp (an emptyDir in the controller's Deployment): the NATS leader
        # elector keeps its state in the fixed file /tmp/graft.log, which processes sharing the
        # host's /tmp would overwrite for each other. `ip netns exec` runs the command in a mount
        # namespace of its own (slave to the host's), so the bind mount stays inside the pod.
        # The binary is opened before the mount and run through that descriptor: a checkout
        # under /tmp (CI may clone there) would otherwise be hidden by the pod's own /tmp.
        argv = self.pod.command(["sh", "-c", 'exec 3<"$1" && mount --bind "$0" /tmp && shift && '
                                 'exec /proc/self/fd/3 "$@"', str(self.workdir / "tmp"),
                                 str(realtools.argo_events()), COMMANDS[self.kind]])
        self.proc = start_logged(argv, self.log_path, env=env, cwd=self.workdir, start_new_session=True)
        return self

    def alive(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    @property
    def pid(self) -> int | None:
        return self.proc.pid if self.proc else None

    def stop(self, timeout: float = 10.0) -> int | None:
        """SIGTERM (the binary's signal handler cancels its context), SIGKILL after ``timeout``."""
        return stop_process(self.proc, timeout)

    def kill(self) -> None:
        """kill -9, for fault tests: no shutdown, nothing acknowledged or committed after it."""
        if self.alive():
            self.proc.kill()
            self.proc.wait()
