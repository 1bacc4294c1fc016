"""Each Sensor in a runner process of its own, as Argo Events runs one Deployment per Sensor.

In one process, the threads of every Sensor share one interpreter lock with each other (and
with a gateway or a test living there), so a workflow's Sensors take turns on one core, however
many the machine has. :class:`SensorFleet` starts one ``python -m devstack.argo run --sensor
<name>`` per Sensor of a manifest folder and offers what callers read of an in-process
:class:`~.runner.Runner`: ``subscriptions``, ``counters``, ``status()``, ``stop()``.

Counters come from each process's status file, rewritten every ``status_interval_s``, so they
trail the processes by at most that much; the final ones are read after ``stop()``. A process
that dies shows as not alive in ``status()``; nothing restarts it (as a crashed pod stays down
here until the caller acts). Logs go to ``<run_dir>/logs/argo-<sensor>.log``.
"""
from __future__ import annotations

import json
import os
import pathlib
import select
import signal
import subprocess
import sys
import time
from typing import Any

from .manifests import Subscription, load_manifests, plan_subscriptions
from .processor import COUNTERS
from .runner import STATUS_FILE
from .yamlnode import ManifestError

REPO = pathlib.Path(__file__).resolve().parents[2]
READY_TIMEOUT_S = 30.0


class SensorFleet:
    """``start()`` one runner process per Sensor, ``stop()`` them all; or use ``with``."""

    def __init__(self, manifest_dir: str | pathlib.Path, bootstrap: str, gateway_url: str, *,
                 run_dir: str | pathlib.Path, secrets_dir: str | pathlib.Path,
                 session_timeout_ms: int = 6000, dlq_timeout_s: float = 30.0, status_interval_s: float = 0.1):
        self.manifest_dir = pathlib.Path(manifest_dir)
        self.bootstrap, self.gateway_url = bootstrap, gateway_url
        self.run_dir, self.secrets_dir = pathlib.Path(run_dir), pathlib.Path(secrets_dir)
        self.session_timeout_ms, self.dlq_timeout_s = session_timeout_ms, dlq_timeout_s
        self.status_interval_s = status_interval_s
        self.subscriptions: tuple[Subscription, ...] = ()
        self._procs: dict[str, subprocess.Popen] = {}

    def _folder(self, sensor: str) -> pathlib.Path:
        return self.run_dir / "sensors" / sensor

    def _command(self, sensor: str) -> list[str]:
        return [sys.executable, "-m", "devstack.argo", "run", "--manifests", str(self.manifest_dir),
                "--sensor", sensor, "--bootstrap", self.bootstrap, "--gateway", self.gateway_url,
                "--secrets-dir", str(self.secrets_dir), "--run-dir", str(self._folder(sensor)),
                "--session-timeout-ms", str(self.session_timeout_ms),
                "--dlq-timeout-s", str(self.dlq_timeout_s), "--status-interval-s", str(self.status_interval_s)]

    def start(self) -> "SensorFleet":
        """Check the manifests here (``ManifestError`` before any process starts), then start a
        process per Sensor that has a subscription and wait until each has subscribed."""
        self.subscriptions = plan_subscriptions(load_manifests(self.manifest_dir))
        logs = self.run_dir / "logs"
        logs.mkdir(parents=True, exist_ok=True)
        env = {**os.environ, "PYTHONPATH": os.pathsep.join(filter(None, [str(REPO), os.getenv("PYTHONPATH")]))}
        try:
            for sensor in sorted({s.sensor.name for s in self.subscriptions}):
                with open(logs / f"argo-{sensor}.log", "ab") as log:
                    self._procs[sensor] = subprocess.Popen(self._command(sensor), stdout=subprocess.PIPE,
                                                           stderr=log, stdin=subprocess.DEVNULL, env=env)
            for sensor, proc in self._procs.items():
                self._wait_ready(sensor, proc)
        except BaseException:
            self.stop()
            raise
        return self

    @staticmethod
    def _wait_ready(sensor: str, proc: subprocess.Popen) -> None:
        """The process's first stdout line says it subscribed; an exit first is the manifest's fault."""
        ready, _, _ = select.select([proc.stdout], [], [], READY_TIMEOUT_S)
        line = proc.stdout.readline() if ready else b""
        if not line:
            code = proc.poll()
            raise ManifestError(sensor, "", f"runner process did not start (exit {code}); "
                                            f"see logs/argo-{sensor}.log")

    def _read(self, sensor: str) -> dict[str, Any]:
        try:
            return json.loads((self._folder(sensor) / STATUS_FILE).read_text())
        except (OSError, ValueError):
            return {}  # not written yet (the file is replaced whole, never half-written)

    @property
    def counters(self) -> dict[str, dict[str, int]]:
        """Per-sensor counters as :attr:`.runner.Runner.counters`, as of each process's last status."""
        zero = dict.fromkeys(COUNTERS, 0)
        return {sensor: {**zero, **self._read(sensor).get("sensors", {}).get(sensor, {})}
                for sensor in sorted(self._procs)}

    def status(self) -> dict[str, Any]:
        subscriptions, sensors = [], {}
        for sensor, proc in sorted(self._procs.items()):
            status = self._read(sensor)
            alive = proc.poll() is None
            sensors.update(status.get("sensors", {}))
            subscriptions += [{**s, "alive": s.get("alive", False) and alive, "pid": proc.pid}
                              for s in status.get("subscriptions", [])]
        return {"manifests": str(self.manifest_dir), "bootstrap": self.bootstrap, "gateway": self.gateway_url,
                "running": any(p.poll() is None for p in self._procs.values()),
                "sensors": sensors, "subscriptions": subscriptions}

    def stop(self, timeout: float = 30.0) -> None:
        """SIGTERM every process (each finishes its in-flight request and commits what is done),
        then wait; one still running after ``timeout`` is killed."""
        for proc in self._procs.values():
            if proc.poll() is None:
                proc.send_signal(signal.SIGTERM)
        deadline = time.monotonic() + timeout
        for proc in self._procs.values():
            try:
                proc.wait(max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
            if proc.stdout:
                proc.stdout.close()

    def __enter__(self) -> "SensorFleet":
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()
