"""Where a command's stack is: its options, else the running ``faas-etl up`` (its state file),
else the environment. So ``audit``, ``replay``, ``workflow``, ``topic`` and ``dlq`` work on the
embedded stack with no option and against a cluster with ``--kafka`` / ``--gateway``."""
from __future__ import annotations

import argparse
import os
import pathlib
from dataclasses import dataclass

from . import runstate

REPO = pathlib.Path(__file__).resolve().parent.parent


class NoStack(RuntimeError):
    """Neither an option, the running ``up`` nor the environment names the part needed."""


@dataclass(frozen=True)
class Where:
    """The parts to read, from options, else the running `up`, else the environment."""

    kafka: str
    gateway: str
    secrets_dir: str | None
    warehouse_url: str
    workflows: tuple[str, ...]
    run_dir: pathlib.Path


def run_dir_of(args: argparse.Namespace) -> pathlib.Path:
    given = getattr(args, "run_dir", None)
    return pathlib.Path(given) if given else runstate.default_run_dir(REPO)


def where(args: argparse.Namespace, *, kafka: bool = True, gateway: bool = False) -> Where:
    """The stack's addresses; :class:`NoStack` names the option to give when a part ``kafka`` or
    ``gateway`` asks for is nowhere to be found."""
    run_dir = run_dir_of(args)
    state = None
    try:
        state = runstate.read_state(run_dir)
    except runstate.NotRunning:
        pass
    bootstrap = getattr(args, "kafka", None) or os.getenv("KAFKA_BOOTSTRAP") or (state.kafka if state else "")
    if kafka and not bootstrap:
        raise NoStack("no Kafka to read: no running `faas-etl up`; give --kafka (or KAFKA_BOOTSTRAP)")
    url = getattr(args, "gateway", None) or os.getenv("OPENFAAS_URL") or (state.gateway if state else "")
    if gateway and not url:
        raise NoStack("no gateway to call: no running `faas-etl up`; give --gateway (or OPENFAAS_URL)")
    warehouse = getattr(args, "warehouse_url", None) or (state.warehouse_url if state else "") \
        or os.getenv("WAREHOUSE_URL", "")
    return Where(kafka=bootstrap, gateway=url, warehouse_url=warehouse,
                 secrets_dir=getattr(args, "secrets_dir", None) or (state.secrets_dir if state else None),
                 workflows=state.workflows if state else (), run_dir=run_dir)


def add_kafka_option(p: argparse.ArgumentParser) -> None:
    p.add_argument("--kafka", help="Kafka bootstrap servers (KAFKA_BOOTSTRAP; default: the running `up`'s)")


def add_gateway_options(p: argparse.ArgumentParser) -> None:
    p.add_argument("--gateway", help="the OpenFaaS gateway (OPENFAAS_URL; default: the running `up`'s)")
    p.add_argument("--secrets-dir", help="folder with basic-auth-user/-password (default: the running `up`'s)")


def add_run_dir_option(p: argparse.ArgumentParser) -> None:
    p.add_argument("--run-dir", help="the stack's run folder (FAAS_ETL_RUN_DIR; .run/)")
