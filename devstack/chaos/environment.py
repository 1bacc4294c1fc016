"""Everything a chaos run stands on, started and stopped here: real processes, all on loopback.

* PostgreSQL (the warehouse): a throw-away cluster, ``tests/fixtures/postgres.py``'s
  :class:`PostgresServer`, which can restart and crash it while keeping its port and data.
* Tansu (the broker) behind a :class:`~.proxy.PausableProxy`: the broker advertises the proxy's
  port, so every client (functions, runner, harness) talks to Kafka through it.
* The local stack (:class:`~devstack.localstack.LocalStack`): gateway and the data path's
  functions, ``replicas`` worker processes each, WAREHOUSE_URL pointing at the PostgreSQL with
  the password in the ``warehouse-password`` secret file, as in a cluster.
* The Argo Events runner as its own process (``python -m devstack.argo run``) on the chaos
  workflow's manifests (:mod:`.workflow`), so it can be killed -9 like a pod.
"""
from __future__ import annotations

import json
import os
import pathlib
import select
import signal
import subprocess
import sys
from typing import Callable

from ..broker import EmbeddedBroker, create_topics
from ..localstack import LocalStack
from ..ports import free_port
from .config import ChaosConfig
from .proxy import PausableProxy
from .workflow import CHAOS, FUNCTIONS

REPO = pathlib.Path(__file__).resolve().parents[2]
# The test server's defaults trade durability for speed (fsync and synchronous_commit off): a
# crash then loses transactions already reported committed, which is the database breaking its
# promise, not the pipeline. A warehouse is run durable; so is this one.
DURABLE = {"fsync": "on", "synchronous_commit": "on", "full_page_writes": "on"}
START_TIMEOUT_S = 60.0


def _postgres_server_class():
    """``PostgresServer`` from the test fixtures: the harness runs from a checkout, where
    ``tests`` sits beside ``devstack`` (added to the path when started as a console script)."""
    try:
        from tests.fixtures.postgres import PostgresServer
    except ModuleNotFoundError:
        sys.path.insert(0, str(REPO))
        from tests.fixtures.postgres import PostgresServer
    return PostgresServer


class RunnerProcess:
    """``python -m devstack.argo run`` as a child process; ``start()`` returns once it has
    subscribed (its first stdout line), ``kill()`` is kill -9, ``stop()`` a clean SIGTERM."""

    def __init__(self, manifests: pathlib.Path, bootstrap: str, gateway: str,
                 secrets_dir: pathlib.Path, run_dir: pathlib.Path, log_path: pathlib.Path):
        self.argv = [sys.executable, "-m", "devstack.argo", "run", "--manifests", str(manifests),
                     "--bootstrap", bootstrap, "--gateway", gateway,
                     "--secrets-dir", str(secrets_dir), "--run-dir", str(run_dir),
                     "--log-level", "WARNING"]
        self.log_path = log_path
        self.proc: subprocess.Popen | None = None
        self.starts = 0

    @property
    def pid(self) -> int | None:
        return self.proc.pid if self.proc else None

    def start(self) -> "RunnerProcess":
        self.log_path.parent.mkdir(parents=True, exist_ok=True)
        with open(self.log_path, "ab") as log:
            self.proc = subprocess.Popen(self.argv, cwd=REPO, stdout=subprocess.PIPE, stderr=log,
                                         stdin=subprocess.DEVNULL, text=True)
        # One line is printed once every subscription is started; a runner that never gets
        # there (a broker that does not answer) must not hang the harness.
        ready, _, _ = select.select([self.proc.stdout], [], [], START_TIMEOUT_S)
        line = self.proc.stdout.readline() if ready else ""
        if not line:
            self.kill()
            raise RuntimeError(f"the runner did not subscribe within {START_TIMEOUT_S:g}s "
                               f"(exit {self.proc.returncode}); see {self.log_path}")
        json.loads(line)
        self.starts += 1
        return self

    def kill(self) -> None:
        if self.proc and self.proc.poll() is None:
            os.kill(self.proc.pid, signal.SIGKILL)
            self.proc.wait(10)
        self._close()

    def stop(self, timeout: float = 40.0) -> None:
        if self.proc and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout)
            except subprocess.TimeoutExpired:
                self.kill()
        self._close()

    def _close(self) -> None:
        if self.proc and self.proc.stdout and not self.proc.stdout.closed:
            self.proc.stdout.close()


class StartedStack:
    """``with Stack(...) as env``: ``up()`` on entering, ``down()`` on leaving, and ``down()``
    too when ``up()`` failed half-way (a stack's ``down()`` must be safe after a partial up)."""

    def up(self):
        raise NotImplementedError

    def down(self) -> None:
        raise NotImplementedError

    def __enter__(self):
        try:
            return self.up()
        except BaseException:
            self.down()
            raise

    def __exit__(self, *exc) -> None:
        self.down()


class ChaosStack(StartedStack):
    """``up()`` starts everything, ``down()`` stops everything (safe after a partial up)."""

    def __init__(self, run_dir: pathlib.Path, config: ChaosConfig,
                 say: Callable[[str], None] = lambda msg: None):
        self.run_dir, self.config, self.say = pathlib.Path(run_dir), config, say
        self.postgres = None
        self.broker: EmbeddedBroker | None = None
        self.proxy: PausableProxy | None = None
        self.stack: LocalStack | None = None
        self.runner: RunnerProcess | None = None
        self.topics: dict[str, int] = {}

    path = CHAOS

    @property
    def ingest_url(self) -> str:
        return self.stack.url + CHAOS.ingest_path()

    @property
    def bootstrap(self) -> str:
        """Where the harness's own Kafka clients connect (through the proxy, as every client)."""
        return self.proxy.address

    @property
    def runner_starts(self) -> int:
        return self.runner.starts if self.runner else 0

    @property
    def auth(self) -> tuple[str, str]:
        creds = self.stack.credentials
        return creds.user, creds.password

    def up(self) -> "ChaosStack":
        self.run_dir.mkdir(parents=True, exist_ok=True)
        self.postgres = _postgres_server_class()(settings=DURABLE)
        self.postgres.start()
        self.say(f"warehouse: PostgreSQL on 127.0.0.1:{self.postgres.port}")
        proxy_port = free_port()
        self.broker = EmbeddedBroker(log_path=self.run_dir / "logs" / "broker.log",
                                     advertised_port=proxy_port).start()
        self.proxy = PausableProxy(("127.0.0.1", self.broker.port), port=proxy_port).start()
        self.say(f"broker: Tansu on {self.broker.bootstrap}, clients through the proxy on "
                 f"{self.proxy.address}")
        secrets_dir = self.run_dir / "secrets"
        secrets_dir.mkdir(parents=True, exist_ok=True)
        password_file = secrets_dir / "warehouse-password"
        password_file.write_text(self.postgres.password)
        password_file.chmod(0o600)
        self.stack = LocalStack(run_dir=self.run_dir, functions=list(FUNCTIONS),
                                kafka_bootstrap=self.proxy.address,
                                extra_env={"WAREHOUSE_URL": self.postgres.url_without_password})
        self.stack.up()
        scale_functions(self.stack, self.config.replicas)
        self.say(f"gateway {self.stack.url}: {', '.join(FUNCTIONS)} x{self.config.replicas}")
        self.topics = CHAOS.write_manifests(self.run_dir / "chaos", FUNCTIONS)
        create_topics(self.proxy.address, self.topics)
        self.runner = RunnerProcess(self.run_dir / "chaos" / "argo-events", self.proxy.address,
                                    self.stack.url, secrets_dir, self.run_dir,
                                    self.run_dir / "logs" / "runner.log").start()
        self.say(f"runner: pid {self.runner.pid} on {self.run_dir / 'chaos' / 'argo-events'}")
        return self

    def down(self) -> None:
        steps = [lambda: self.runner and self.runner.stop(),
                 lambda: self.stack and self.stack.down(),
                 lambda: self.proxy and self.proxy.stop(),
                 lambda: self.broker and self.broker.stop(),
                 lambda: self.postgres and self.postgres.close()]
        errors = []
        for step in steps:  # every part gets its chance to stop, whatever failed before
            try:
                step()
            except Exception as exc:  # noqa: BLE001 - reported after the others stopped
                errors.append(exc)
        if errors:
            raise errors[0]



def scale_functions(stack: LocalStack, replicas: int) -> None:
    """Every data-path function at ``replicas`` workers, through the gateway's scale API."""
    with stack.session() as http:
        for name in FUNCTIONS:
            resp = http.post(f"{stack.url}/system/scale-function/{name}",
                             json={"serviceName": name, "replicas": replicas}, timeout=60)
            if resp.status_code != 202:
                raise RuntimeError(f"scaling {name}: HTTP {resp.status_code} {resp.text}")


def warehouse_rows(conninfo: str, table: str) -> list[dict]:
    """Every row of the sink table (the data check's read-back)."""
    import psycopg
    from psycopg.rows import dict_row

    from etlkit.warehouse.identifiers import quote

    with psycopg.connect(conninfo, connect_timeout=10, row_factory=dict_row) as conn:
        return list(conn.execute(f"SELECT * FROM {quote(table, 'table')}"))


def dead_letters(bootstrap: str, topic: str, timeout_s: float = 30.0
                 ) -> list[tuple[tuple[str, int], object]]:
    """Every dead letter on ``topic``, from its start to the end the broker reports, as
    ((its batch's id, its place in the batch), letter); a plain message's id is its
    ``partition:offset``."""
    from etlkit import wire

    from ..topic_io import read_topics

    messages, _partitions = read_topics(bootstrap, [topic], timeout_s)
    out = []
    for m in messages[topic]:
        try:
            batch, entries, _end = wire.unbatch(m.value, m.headers, m.key)
        except ValueError:  # not JSON: a letter nobody can read, kept as its text
            batch, entries = None, [{"value": (m.value or b"").decode("utf-8", "replace")}]
        for index, entry in enumerate(entries):
            out.append(((batch or f"{m.partition}:{m.offset}", index), entry.get("value")))
    return out
