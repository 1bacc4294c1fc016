"""``python -m devstack.argo``: run the Argo Events manifests locally, or check what would run.

``run`` starts a :class:`~.runner.Runner` and keeps it until SIGINT or SIGTERM (a clean stop:
in-flight requests finish, done offsets are committed). It prints one JSON line on stdout once
every subscription is started, and keeps ``<run-dir>/argo-events-status.json`` current.
``check`` loads the manifests and prints the subscriptions and warnings, connecting to nothing.
Exit codes: 0 ok, 1 failure (a manifest the runner refuses, missing credentials), 2 usage.
"""
from __future__ import annotations

import argparse
import gc
import json
import logging
import os
import pathlib
import signal
import sys
import threading
from typing import Sequence

from ..gateway.auth import load_credentials
from .manifests import load_manifests, plan_subscriptions
from .runner import STATUS_FILE, Runner
from .yamlnode import ManifestError

REPO = pathlib.Path(__file__).resolve().parents[2]


def _check(args) -> int:
    manifests = load_manifests(args.manifests)
    report = {
        "subscriptions": [{"sensor": s.sensor.name, "dependency": s.dependency.name,
                           "event_source": s.source.event_source, "event": s.source.event_name,
                           "group": s.group, "triggers": [t.name for t in s.triggers]}
                          for s in plan_subscriptions(manifests)],
        "warnings": list(manifests.warnings)}
    print(json.dumps(report, indent=2))
    return 0


def _run(args) -> int:
    if not args.bootstrap:
        print("--bootstrap (or KAFKA_BOOTSTRAP) is required", file=sys.stderr)
        return 2
    try:
        credentials = load_credentials(pathlib.Path(args.secrets_dir))
    except FileNotFoundError as exc:
        print(f"gateway credentials: {exc}", file=sys.stderr)
        return 1
    # The runner's threads (one per subscription) hand the interpreter lock back and forth: a
    # sending thread needs it between each of its system calls, so with 5 ms (the default) a
    # request waits on another subscription's event being built. 0.2 ms keeps requests moving.
    sys.setswitchinterval(0.0002)
    # Every message makes a few short-lived objects: collecting the youngest generation every 700
    # allocations (the default) and walking what start-up loaded cost pauses of ~10 ms.
    gc.freeze()
    gc.set_threshold(50_000, 10, 10)
    stop = threading.Event()
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, lambda *_: stop.set())
    runner = Runner(args.manifests, args.bootstrap, args.gateway, credentials,
                    run_dir=args.run_dir,
                    session_timeout_ms=args.session_timeout_ms, dlq_timeout_s=args.dlq_timeout_s,
                    status_interval_s=args.status_interval_s, sensors=args.sensor or None)
    runner.start()
    print(json.dumps({"pid": os.getpid(), "status_file": str(pathlib.Path(args.run_dir) / STATUS_FILE),
                      "subscriptions": [s.label for s in runner.subscriptions]}), flush=True)
    stop.wait()
    logging.getLogger("devstack.argo").info("stopping")
    runner.stop()
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m devstack.argo", description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for name, help_text in (("run", "run the manifests against the local broker and gateway"),
                            ("check", "load the manifests and print what would run")):
        p = sub.add_parser(name, help=help_text)
        p.add_argument("--manifests", default=str(REPO / "argo-events"),
                       help="folder of Argo Events manifests (argo-events/)")
        p.set_defaults(func=_run if name == "run" else _check)
        if name == "check":
            continue
        p.add_argument("--bootstrap", default=os.getenv("KAFKA_BOOTSTRAP", ""),
                       help="Kafka bootstrap servers (default: $KAFKA_BOOTSTRAP)")
        p.add_argument("--gateway", default=os.getenv("FAAS_ETL_GATEWAY", "http://127.0.0.1:8080"),
                       help="local gateway URL (default: $FAAS_ETL_GATEWAY or http://127.0.0.1:8080)")
        p.add_argument("--secrets-dir", default=str(REPO / ".run" / "secrets"),
                       help="gateway credentials (basic-auth-user/-password)")
        p.add_argument("--run-dir", default=str(REPO / ".run"), help=f"where {STATUS_FILE} is kept")
        p.add_argument("--session-timeout-ms", type=int, default=6000,
                       help="consumer session timeout (Tansu's first join takes about half)")
        p.add_argument("--dlq-timeout-s", type=float, default=30.0,
                       help="how long a dead letter may wait for its acknowledgement")
        p.add_argument("--sensor", action="append", default=[], metavar="NAME",
                       help="run only this Sensor (repeat for more; default: every Sensor)")
        p.add_argument("--status-interval-s", type=float, default=1.0,
                       help=f"how often {STATUS_FILE} is rewritten (1.0)")
        p.add_argument("--log-level", default="INFO", help="logging level (INFO)")
    args = parser.parse_args(argv)
    logging.basicConfig(level=getattr(args, "log_level", "INFO").upper(), stream=sys.stderr,
                        format="%(asctime)s %(levelname)s %(threadName)s %(message)s")
    try:
        return args.func(args)
    except ManifestError as exc:
        print(f"manifest: {exc}", file=sys.stderr)
        return 1
