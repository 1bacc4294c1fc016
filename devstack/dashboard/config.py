"""The dashboard's configuration: typed, frozen, checked before any client opens.

Every error is a :class:`ConfigError` naming the option (or environment variable) and the rule.
"""
from __future__ import annotations

import math
import pathlib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from etlkit.workflow import Workflow, names

from .scrape import StepRef, WatchedWorkflow, WatchList

ENV = {  # option -> environment variable, for the README's reference and from_env()
    "gateway_url": "OPENFAAS_URL",
    "secrets_dir": "OPENFAAS_SECRETS_DIR",
    "kafka_bootstrap": "KAFKA_BOOTSTRAP",
    "warehouse_url": "WAREHOUSE_URL",
    "host": "DASHBOARD_HOST",
    "port": "DASHBOARD_PORT",
    "interval_s": "DASHBOARD_INTERVAL_S",
}


class ConfigError(ValueError):
    def __init__(self, where: str, rule: str) -> None:
        super().__init__(f"{where}: {rule}")
        self.where, self.rule = where, rule


@dataclass(frozen=True)
class DashboardConfig:
    """Where the public APIs are, what to watch and how often.

    gateway_url : the OpenFaaS gateway; ``user``/``password``: its basic auth.
    kafka_bootstrap : the brokers whose offsets are shown ("" hides the topics).
    warehouse_url : the warehouse whose sink tables are counted ("" hides them); a PostgreSQL
        password comes from the ``warehouse-password`` secret in ``secrets_dir``.
    replica_host : where each replica's port listens (the local gateway's workers: loopback).
    controller : the autoscaler function whose status is shown, read every
        ``controller_interval_s`` at most.
    interval_s : seconds between collection rounds; history_s: how much the charts keep.
    host, port : where the dashboard listens (loopback unless told otherwise; 0 picks a port).
    """

    gateway_url: str
    user: str = "admin"
    password: str = ""
    kafka_bootstrap: str = ""
    warehouse_url: str = ""
    secrets_dir: str = ""
    namespace: str = "openfaas-fn"
    replica_host: str = "127.0.0.1"
    controller: str = "autoscaler"
    controller_interval_s: float = 5.0
    interval_s: float = 1.0
    history_s: float = 300.0
    timeout_s: float = 5.0
    host: str = "127.0.0.1"
    port: int = 8090

    def __post_init__(self) -> None:
        if not self.gateway_url.startswith(("http://", "https://")):
            raise ConfigError("--gateway (OPENFAAS_URL)", "required, an http(s) URL")
        for name in ("interval_s", "controller_interval_s", "history_s", "timeout_s"):
            value = getattr(self, name)
            if not (isinstance(value, (int, float)) and math.isfinite(value) and value > 0):
                raise ConfigError(name, "must be a number > 0")
        if self.history_s < self.interval_s:
            raise ConfigError("history_s", f"must be at least interval_s ({self.interval_s:g})")
        if not (isinstance(self.port, int) and 0 <= self.port <= 65535):
            raise ConfigError("--port (DASHBOARD_PORT)", "must be a port number 0..65535")

    @property
    def history_points(self) -> int:
        return max(2, int(self.history_s / self.interval_s))

    @classmethod
    def from_env(cls, env: Mapping[str, str], **overrides) -> "DashboardConfig":
        """From the environment (see :data:`ENV`), then ``overrides`` (command-line options)."""
        values: dict = {}
        for option, variable in ENV.items():
            if env.get(variable):
                values[option] = env[variable]
        values.update({k: v for k, v in overrides.items() if v is not None})
        for option, kind in (("port", int), ("interval_s", float)):
            if option in values and isinstance(values[option], str):
                try:
                    values[option] = kind(values[option])
                except ValueError:
                    raise ConfigError(ENV[option], f"must be a {kind.__name__}") from None
        if "password" not in values and values.get("secrets_dir"):
            values.update(_gateway_credentials(pathlib.Path(values["secrets_dir"])))
        return cls(**values)


def _gateway_credentials(secrets_dir: pathlib.Path) -> dict[str, str]:
    """basic-auth-user / basic-auth-password, the secret files the gateway itself reads."""
    out = {}
    for key, name in (("user", "basic-auth-user"), ("password", "basic-auth-password")):
        path = secrets_dir / name
        if path.is_file():
            out[key] = path.read_text(encoding="utf-8").strip()
    if "password" not in out:
        raise ConfigError("OPENFAAS_SECRETS_DIR", f"no basic-auth-password in {secrets_dir}")
    return out


def watch_list(workflows: Sequence[Workflow],
               origins: Mapping[str, tuple[str, str]] | None = None) -> WatchList:
    """Topics, consumer groups, steps and tables of the workflows, in pipeline order;
    ``origins``: per workflow, who started it and its state (devstack.running_workflows)."""
    topics: dict[str, None] = {}
    groups: dict[str, list[str]] = {}
    steps: list[StepRef] = []
    for wf in workflows:
        for topic in wf.topics:
            topics.setdefault(topic.name)
        for step in (*wf.steps, wf.sink):
            output = getattr(step, "output", None)
            steps.append(StepRef(wf.name, step.name, getattr(step, "kind", "sink"), step.function,
                                 tuple(step.inputs), output))
            for topic in step.inputs:
                group = names.consumer_group(wf.name, topic)
                if group not in groups.setdefault(topic, []):
                    groups[topic].append(group)
    return WatchList(workflows=tuple(wf.name for wf in workflows), topics=tuple(topics),
                     groups={t: tuple(g) for t, g in groups.items()}, steps=tuple(steps),
                     tables=tuple(dict.fromkeys(wf.sink.table for wf in workflows)),
                     dead_letter_topics=tuple(dict.fromkeys(wf.dead_letter for wf in workflows)),
                     members=tuple(WatchedWorkflow(wf.name, tuple(t.name for t in wf.topics), wf.sink.table,
                                                   *(origins or {}).get(wf.name, ("", "")))
                                   for wf in workflows))
