"""``faas-etl dashboard`` (or ``python -m devstack.dashboard``): the live page, on its own.

``faas-etl up`` starts one beside the stack; this command points one at any gateway: a running
``up`` (found through its state file), or a cluster's gateway and Kafka. Exit codes: 0 stopped
cleanly, 1 a configuration or startup failure, 2 usage.
"""
from __future__ import annotations

import argparse
import json
import os
import pathlib
import signal
import sys
import time
from collections.abc import Sequence

from etlkit.workflow import Workflow, WorkflowInvalid, load_workflow

from .config import ConfigError, DashboardConfig, watch_list
from .server import Dashboard
from .sources import Collector

REPO = pathlib.Path(__file__).resolve().parents[2]


def load_workflows(paths: Sequence[str | os.PathLike[str]]) -> list[Workflow]:
    """The workflows to watch (default: every ``workflows/*.yaml`` of the repository)."""
    chosen = [pathlib.Path(p) for p in paths] or sorted((REPO / "workflows").glob("*.yaml"))
    return [load_workflow(p) for p in chosen]


def start_dashboard(config: DashboardConfig, workflows: Sequence[Workflow], *,
                    with_manager_runs: bool = False) -> Dashboard:
    """A started dashboard over ``workflows`` (the caller stops it); ``with_manager_runs``: and
    over every run the workflow manager starts (``faas-etl up``: ``workflows`` are then the
    ones it wired)."""
    watch = watch_list(workflows)
    collector = Collector(config, watch, wired=workflows if with_manager_runs else None)
    return Dashboard(config, watch, collector).start()


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--gateway", help="gateway URL (OPENFAAS_URL; default: the running `up`'s)")
    p.add_argument("--secrets-dir", help="folder with basic-auth-user/-password "
                                         "(OPENFAAS_SECRETS_DIR; default: the running `up`'s)")
    p.add_argument("--kafka", help="Kafka bootstrap servers (KAFKA_BOOTSTRAP; default: the running `up`'s)")
    p.add_argument("--warehouse-url", help="warehouse to count sink rows in (WAREHOUSE_URL)")
    p.add_argument("-w", "--workflow", action="append", default=[], metavar="FILE",
                   help="workflow file to watch (repeatable; default: workflows/*.yaml)")
    p.add_argument("--host", help="address to listen on (DASHBOARD_HOST; 127.0.0.1)")
    p.add_argument("--port", type=int, help="port to listen on (DASHBOARD_PORT; 8090; 0 picks one)")
    p.add_argument("--interval", type=float, help="seconds between rounds (DASHBOARD_INTERVAL_S; 1)")
    p.add_argument("--json", action="store_true", help="print the address as one JSON line")


def config_from_args(args: argparse.Namespace, env: dict[str, str],
                     defaults: dict[str, str] | None = None) -> DashboardConfig:
    """Options over the environment over ``defaults`` (a running `up`'s addresses)."""
    base = {**(defaults or {}), **{k: v for k, v in env.items() if v}}
    return DashboardConfig.from_env(base, gateway_url=args.gateway, secrets_dir=args.secrets_dir,
                                    kafka_bootstrap=args.kafka, warehouse_url=args.warehouse_url,
                                    host=args.host, port=args.port, interval_s=args.interval)


def serve(args: argparse.Namespace, defaults: dict[str, str] | None = None) -> int:
    """Run a dashboard until interrupted (KeyboardInterrupt, which the caller arranges)."""
    try:
        config = config_from_args(args, dict(os.environ), defaults)
        workflows = load_workflows(args.workflow)
    except (ConfigError, WorkflowInvalid, OSError) as exc:
        print(f"faas-etl dashboard: {exc}", file=sys.stderr)
        return 1
    try:
        dashboard = start_dashboard(config, workflows)
    except OSError as exc:  # the port is taken
        print(f"faas-etl dashboard: cannot listen on {config.host}:{config.port} ({exc})",
              file=sys.stderr)
        return 1
    print(json.dumps({"dashboard": dashboard.url}) if args.json else
          f"dashboard {dashboard.url}  (Ctrl-C to stop)", flush=True)
    try:
        until_interrupted()
    except KeyboardInterrupt:
        pass
    finally:
        dashboard.stop()
    return 0


def until_interrupted(poll_s: float = 0.25) -> None:
    """Block until SIGINT/SIGTERM raise KeyboardInterrupt (the caller's handlers). Not
    ``signal.pause()``: with other threads running, the kernel may deliver the signal to one of
    them, and a main thread paused in the syscall would then never wake up."""
    while True:
        time.sleep(poll_s)


def _interrupt(signum, _frame):
    raise KeyboardInterrupt(signal.Signals(signum).name)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m devstack.dashboard",
                                     description=__doc__.splitlines()[0])
    add_arguments(parser)
    args = parser.parse_args(argv)
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, _interrupt)
    return serve(args)
