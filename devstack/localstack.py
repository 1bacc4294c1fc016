"""The whole bundle on one machine: broker, build contexts, gateway, deployed functions."""
from __future__ import annotations

import os
import pathlib
import secrets
import sys
import time
from dataclasses import dataclass, field

import requests

from .broker import EmbeddedBroker, create_topics
from .gateway.auth import Credentials, load_credentials
from .gateway.server import LocalGateway
from .ports import free_port
from .shrinkwrap import build_all, build_context
from .stackfile import FunctionSpec, Stack, load_stack
from .topology import load_topology

REPO = pathlib.Path(__file__).resolve().parent.parent
CLUSTER_ONLY_ENV = {"KAFKA_BOOTSTRAP", "WAREHOUSE_URL", "LOOKUP_ROOT", "STATE_URL",
                    "FILE_SOURCE_ROOT", "OPENFAAS_URL", "SCALE_TO_ZERO",
                    # The workflow-manager's Runner: custom objects and Prometheus in a cluster;
                    # locally its defaults (the reconciled folder, the replicas' own metrics).
                    "RUN_BACKEND", "RUN_COUNTERS", "PROMETHEUS_URL",
                    # The autoscaler: openfaas-ce in a cluster; locally the local gateway.
                    "PLATFORM"}


@dataclass
class LocalStack:
    """Start with `up()`, stop with `down()`; or use it as a context manager."""
    root: pathlib.Path = REPO
    run_dir: pathlib.Path | None = None
    functions: list[str] | None = None  # None: every function in stack.yml
    gateway_port: int = 0
    extra_env: dict[str, str] = field(default_factory=dict)
    # Bootstrap servers of a Kafka to use instead of starting the embedded broker (e.g. a proxy
    # in front of one); empty: $KAFKA_BOOTSTRAP, and when that is empty too, the embedded broker.
    kafka_bootstrap: str = ""
    # Replicas of the topics this stack creates: 1 on one broker; a three-node Kafka (real parts,
    # --kafka-nodes 3) gets 3, so a broker may fail as in a cluster (min.insync.replicas=2).
    replication_factor: int = 1
    # The address the embedded broker and the gateway listen on (and OPENFAAS_URL names): loopback,
    # or the pod bridge of the real-parts stack, which its Argo Events pods reach
    # (devstack/realargo/podnet.py). Never a real interface.
    host: str = "127.0.0.1"

    def __post_init__(self) -> None:
        # FAAS_ETL_RUN_DIR moves everything a run writes (builds, logs, secrets, databases).
        self.run_dir = pathlib.Path(self.run_dir or os.getenv("FAAS_ETL_RUN_DIR") or self.root / ".run")
        self.stack: Stack = load_stack(self.root / "stack.yml")
        self.broker: EmbeddedBroker | None = None
        self.gateway: LocalGateway | None = None
        self.bootstrap = self.kafka_bootstrap  # up() settles it ($KAFKA_BOOTSTRAP, or the embedded broker)

    @property
    def secrets_dir(self) -> pathlib.Path:
        return self.run_dir / "secrets"

    @property
    def credentials(self) -> Credentials:
        return self.gateway.credentials

    @property
    def url(self) -> str:
        return self.gateway.url

    def session(self) -> requests.Session:
        """An HTTP session that carries the gateway's basic auth."""
        s = requests.Session()
        s.auth = (self.credentials.user, self.credentials.password)
        return s

    def up(self, progress=lambda msg: None) -> "LocalStack":
        self.run_dir.mkdir(parents=True, exist_ok=True)
        self.bootstrap = self.kafka_bootstrap or os.getenv("KAFKA_BOOTSTRAP", "")
        if not self.bootstrap:
            progress("starting the embedded broker (Tansu)")
            self.broker = EmbeddedBroker(log_path=self.run_dir / "logs" / "broker.log", host=self.host).start()
            self.bootstrap = self.broker.bootstrap
        progress(f"broker at {self.bootstrap}")
        names = self.functions or sorted(self.stack.functions)
        build_root = self.run_dir / "build"
        build_all(self.stack, build_root, names)
        progress(f"built {len(names)} function contexts under {build_root}")
        credentials = load_credentials(self.secrets_dir, create=True)
        port = self.gateway_port or free_port()  # known before start: the autoscaler calls it
        env = {"PATH": os.environ.get("PATH", ""), "KAFKA_BOOTSTRAP": self.bootstrap,
               "OPENFAAS_SECRETS_DIR": str(self.secrets_dir),
               "WAREHOUSE_URL": f"sqlite:///{self.run_dir / 'warehouse.db'}",
               "FAAS_ETL_RUN_DIR": str(self.run_dir), "LOOKUP_ROOT": str(self.root),
               "FILE_SOURCE_ROOT": str(self.root),
               # Every function's state (etlkit/state_db.py): one SQLite file of the run.
               "STATE_URL": f"sqlite:///{self.run_dir / 'step-state.db'}",
               "OPENFAAS_URL": f"http://{self.host}:{port}",
               "TOPOLOGY_FILE": str(self.root / "config" / "topology.yml"), **self.extra_env}
        self._create_missing_secrets(names)
        self.gateway = LocalGateway(build_root, load_topology(self.root / "config" / "topology.yml"),
                                    credentials, self.secrets_dir, env, self.run_dir / "logs",
                                    port=port, host=self.host).start()
        progress(f"gateway at {self.gateway.url}")
        with self.session() as s:
            for name in names:
                self._deploy(s, self.deployment(name))
        progress(f"deployed {', '.join(names)}")
        return self

    def deploy_folder(self, name: str, handler: str | os.PathLike, **deployment) -> str:
        """Build the python3-etl handler folder ``handler`` (a path under the stack's root, or
        absolute) as function ``name`` and deploy it through the gateway's API, as a function
        that is not in stack.yml (a test's or a bench's own); ``deployment``: more
        FunctionDeployment fields (``envVars``, ``labels``, ``constraints``). Returns ``name``."""
        spec = FunctionSpec(name=name, lang="python3-etl", handler=str(handler), image=f"local/{name}:dev")
        build_context(self.stack, spec, self.run_dir / "build")
        with self.session() as s:
            self._deploy(s, {"service": name, "image": spec.image, **deployment})
        return name

    def _deploy(self, session: requests.Session, deployment: dict) -> None:
        resp = session.post(f"{self.url}/system/functions", json=deployment, timeout=60)
        if resp.status_code != 202:
            raise RuntimeError(f"deploying {deployment['service']}: HTTP {resp.status_code} {resp.text}")

    def _create_missing_secrets(self, names: list[str]) -> None:
        """Secrets stack.yml names are created out of band in a cluster; locally they get random
        values (SQLite needs no warehouse password), so deploying never fails for want of one."""
        for name in names:
            for secret in self.stack.functions[name].secrets:
                path = self.secrets_dir / secret
                if not path.exists():
                    path.write_text(secrets.token_urlsafe(24))
                    path.chmod(0o600)

    def deployment(self, name: str) -> dict:
        """The FunctionDeployment faas-cli would send for a stack.yml entry, locally adjusted."""
        fn = self.stack.functions[name]
        # Addresses and paths of the cluster; the local stack sets its own (see up()).
        env = {k: v for k, v in fn.environment.items() if k not in CLUSTER_ONLY_ENV}
        return {"service": name, "image": fn.image, "envVars": env, "labels": fn.labels,
                "annotations": fn.annotations, "secrets": list(fn.secrets),
                "constraints": list(fn.constraints), "limits": fn.limits, "requests": fn.requests}

    def create_topics(self, topics: dict[str, int]) -> None:
        create_topics(self.bootstrap, topics, replication_factor=self.replication_factor)

    def restart_gateway(self, down_s: float = 0.0) -> LocalGateway:
        """Stop the gateway and start a new one on the same port after ``down_s`` seconds.

        The workers keep running and the new gateway serves them, as restarting OpenFaaS's
        gateway leaves the function pods alone; requests in flight still get their answers.
        """
        old = self.gateway
        old.stop(keep_replicas=True)
        if down_s > 0:
            time.sleep(down_s)
        self.gateway = old.successor().start()
        return self.gateway

    def down(self) -> None:
        if self.gateway:
            self.gateway.stop()
            self.gateway = None
        if self.broker:
            self.broker.stop()
            self.broker = None

    def __enter__(self) -> "LocalStack":
        return self.up()

    def __exit__(self, *exc) -> None:
        self.down()


def eprint(msg: str) -> None:
    print(msg, file=sys.stderr, flush=True)
