"""faas-etl: one command for the local stack and the project's tools.

Subcommands follow the ecosystem's habits (faas-cli, kubectl, docker compose): `up` / `down` the
local stack, `status`, `logs`, `invoke` a function, `dashboard`, `run` the sample workflow,
`build`, `render`, `validate` (manifests and workflow files), `simulate` (the scheduler
evaluation), `bench`, `audit` (every topic's records against the steps' counters), `replay`,
`try` (a workflow on sample records, no broker), `workflow`, `topic`, `dlq` and `reset`. Every
subcommand has --help; those a script reads have --json. Exit codes: 0 ok, 1 failure, 2 usage,
3 (`status`, `workflow status`) running but degraded, 130 interrupted.
"""
from __future__ import annotations

import argparse
import contextlib
import importlib
import json
import os
import pathlib
import signal
import sys
import time

from . import runstate
from .stackchoice import stack_name
from .dashboard.cli import load_workflows, until_interrupted

REPO = pathlib.Path(__file__).resolve().parent.parent
DASHBOARD_PORT = 8090


def _say(msg: str) -> None:
    print(f"==> {msg}", file=sys.stderr, flush=True)


def cmd_build(args) -> int:
    from .shrinkwrap import build_all
    from .stackfile import load_stack

    stack = load_stack(args.file)
    out = build_all(stack, pathlib.Path(args.output), args.function or None)
    for name, path in out.items():
        print(f"{name} shrink-wrapped to {path}")
    return 0


def _run_dir(args) -> pathlib.Path:
    return pathlib.Path(args.run_dir) if args.run_dir else runstate.default_run_dir(REPO)


def _port_or_any(port: int) -> int:
    """``port`` if it is free on loopback, else 0 (any): a busy dashboard port is no reason to
    refuse the whole stack."""
    import socket

    with socket.socket() as sock:
        try:
            sock.bind(("127.0.0.1", port))
        except OSError:
            return 0
    return port


def cmd_up(args) -> int:
    run_dir = _run_dir(args)
    try:
        running = runstate.read_state(run_dir)
    except runstate.NotRunning:
        running = None
    if running is not None:
        print(f"faas-etl up: already running (pid {running.pid}, gateway {running.gateway}); "
              f"`faas-etl down` stops it", file=sys.stderr)
        return 1
    try:
        workflows = load_workflows(args.workflow)
    except Exception as exc:  # noqa: BLE001 - a bad workflow file is the user's to fix
        print(f"faas-etl up: {exc}", file=sys.stderr)
        return 1
    from .realstack import choose_here, started_stack
    from .upctl import reset_for_an_empty_broker

    choice = choose_here("real" if args.real else "stand-in")
    if not choice.runnable:
        print(f"faas-etl up: {choice.message}", file=sys.stderr)
        return 1
    _say(choice.message)
    # Before any function opens the state: it must not outlive the broker it describes.
    reset = reset_for_an_empty_broker(run_dir, args.real, os.getenv("KAFKA_BOOTSTRAP", ""), say=_say)
    parts = contextlib.ExitStack()  # the stack's parts, stopped last (after what runs on them)
    runs, dashboard, supervisor = [], None, None
    try:
        stack, runner_factory = parts.enter_context(started_stack(  # real: Kafka's data in a temp folder
            args.real, run_dir, say=_say, gateway_port=args.port, kafka_nodes=args.kafka_nodes))
        supervisor = _supervise(stack)
        warehouse_url = f"sqlite:///{stack.run_dir / 'warehouse.db'}"
        wired = workflows if args.workflow else []
        for wf in wired:
            runs.append(_wire(stack, wf, warehouse_url, runner_factory))
        if not args.no_dashboard:
            dashboard = _dashboard_for(stack, wired, warehouse_url, args.dashboard_port)
            _say(f"dashboard at {dashboard.url}")
        creds = stack.credentials
        described = stack_name(choice.kind)
        state = runstate.UpState(
            pid=os.getpid(), run_dir=str(stack.run_dir), gateway=stack.url, kafka=stack.bootstrap,
            user=creds.user, password_file=str(stack.secrets_dir / "basic-auth-password"),
            secrets_dir=str(stack.secrets_dir), log_dir=str(stack.run_dir / "logs"),
            started_at=time.time(), dashboard=dashboard.url if dashboard else "",
            warehouse_url=warehouse_url, workflows=tuple(wf.name for wf in workflows if args.workflow),
            stack=described)
        state_file = runstate.write_state(state)
        runner = "the real Argo Events processes" if args.real else "Argo Events runner"
        held = {f"{run.workflow.name}/{source}": reason for run in runs for source, reason in run.held.items()}
        print(json.dumps({**state.to_dict(), "state_file": str(state_file), "reset": reset,
                          "held_sources": held}) if args.json else
              f"stack     {described}\n"
              f"gateway   {stack.url}  (user {creds.user}, password in {state.password_file})\n"
              f"kafka     {stack.bootstrap}\n"
              + (f"dashboard {dashboard.url}\n" if dashboard else "")
              + (f"workflows {', '.join(state.workflows)} wired ({runner})\n" if runs else "")
              + "Ctrl-C or `faas-etl down` stops everything.", flush=True)
        until_interrupted()  # Ctrl-C or SIGTERM (see _interrupt_on)
    except KeyboardInterrupt:
        pass  # the way to stop `up`: a clean exit, not an error
    except (RuntimeError, OSError, ValueError) as exc:  # a function that would not deploy, a port in
        print(f"faas-etl up: {exc}", file=sys.stderr)  # use, a pod network or Argo process that failed
        return 1
    finally:
        _say("stopping")
        runstate.remove_state(run_dir, os.getpid())
        try:
            if dashboard is not None:
                dashboard.stop()
            if supervisor is not None:
                supervisor.stop()
            for run in runs:
                run.close()
        finally:
            parts.close()
    return 0





def _supervise(stack):
    """The local reconciler: what ``POST /function/workflow-manager/workflows/<name>/run``
    applies (a folder under the run folder) is run by the local Argo Events runner, and the
    run's file sources are streamed once when it starts."""
    from etlkit.controller.gateway import Gateway

    from .argo.supervisor import Supervisor
    from .declared_sources import file_sources_of_manager_runs

    gateway = Gateway(stack.url, (stack.credentials.user, stack.credentials.password), timeout_s=120)
    supervisor = Supervisor(stack.run_dir, stack.bootstrap, stack.url, stack.credentials,
                            on_start=file_sources_of_manager_runs(gateway, say=_say)).start()
    _say(f"runs of the workflow-manager reconciled from {supervisor.apply_dir} (local Argo runner)")
    return supervisor


class _Wired:
    """A workflow ``up -w`` wired: its run and its declared sources; ``close()`` stops both."""

    def __init__(self, run, sources) -> None:
        self.run, self.sources = run, sources

    @property
    def workflow(self):
        return self.run.workflow

    @property
    def held(self) -> dict[str, str]:
        return dict(self.sources.held)

    def close(self) -> None:
        try:
            self.sources.close()
        finally:
            self.run.close()


def _wire(stack, workflow, warehouse_url: str, runner_factory=None) -> _Wired:
    """Topics created, the workflow's Argo Events manifests run by the local runner (or what
    ``runner_factory`` makes: the real Argo Events processes), and every declared source started
    (:mod:`.declared_sources`: file sources streamed once, a sql source held until its table
    exists)."""
    from .declared_sources import DeclaredSources
    from .pipeline.run import WorkflowRun

    run = WorkflowRun(stack, workflow, warehouse_url=warehouse_url, say=_say, keep_records=False,
                      runner_factory=runner_factory)
    sources = DeclaredSources(run, {"WAREHOUSE_URL": warehouse_url}, str(stack.secrets_dir), say=_say)
    try:
        sources.start()
    except BaseException:
        run.close()
        raise
    return _Wired(run, sources)


def _dashboard_for(stack, workflows, warehouse_url: str, port: int):
    from .dashboard.cli import start_dashboard
    from .dashboard.config import DashboardConfig

    config = DashboardConfig(gateway_url=stack.url, user=stack.credentials.user,
                             password=stack.credentials.password, kafka_bootstrap=stack.bootstrap,
                             warehouse_url=warehouse_url, secrets_dir=str(stack.secrets_dir),
                             port=_port_or_any(port) if port else 0)
    # ``workflows``: the ones `up -w` wired; the workflow manager's runs join while they run.
    return start_dashboard(config, workflows, with_manager_runs=True)


def cmd_down(args) -> int:
    from .upctl import down

    return down(_run_dir(args), args.timeout, args.json)


def cmd_status(args) -> int:
    from .upctl import status

    return status(_run_dir(args), args.json)


def cmd_logs(args) -> int:
    from .upctl import logs

    return logs(_run_dir(args), args.function, args.tail, args.follow)


def cmd_invoke(args) -> int:
    from .upctl import invoke, read_body

    body = read_body(args.data, sys.stdin) if args.data is not None or not sys.stdin.isatty() else b""
    return invoke(_run_dir(args), args.function, body, method=args.method, query=args.query,
                  headers=args.header, is_async=args.async_, batch=args.batch, as_json=args.json,
                  progress=not args.no_progress and sys.stderr.isatty())


def cmd_dashboard(args) -> int:
    from .dashboard.cli import serve

    defaults = {}
    try:  # a running `up`'s addresses, unless options or the environment say otherwise
        state = runstate.read_state(_run_dir(args))
        defaults = {"OPENFAAS_URL": state.gateway, "OPENFAAS_SECRETS_DIR": state.secrets_dir,
                    "KAFKA_BOOTSTRAP": state.kafka, "WAREHOUSE_URL": state.warehouse_url}
    except runstate.NotRunning:
        pass
    return serve(args, defaults)


def cmd_bench(args) -> int:
    if str(REPO) not in sys.path:  # bench/ sits beside the packages, it is not one of them
        sys.path.insert(0, str(REPO))
    if args.list:
        for path in sorted((REPO / "bench").glob("bench_*.py")):
            print(path.stem.removeprefix("bench_"))
        return 0
    return int(importlib.import_module("bench.__main__").main(args.name) or 0)


def cmd_run(args) -> int:
    from .demo import run_demo

    return run_demo(records=args.records, legacy=args.legacy_rows, batch=args.batch, as_json=args.json,
                    mode=args.mode, kafka_nodes=args.kafka_nodes)


# Subcommands owned by other packages: module with main(argv), arguments put before the user's.
DELEGATED = {
    "simulate": ("devstack.evaluation.cli", [], "evaluate the elastic scheduler on seeded curves"),
    "validate": ("devstack.validate_cli", [], "validate manifests, stack.yml and workflow files strictly "
                                              "(step parameters against the topics' schemas)"),
    "render": ("etlkit.workflow.render", [], "render argo-events/ and k8s/topics/ from workflows/"),
    "chaos": ("devstack.chaos.cli", [], "availability under faults: steady writes and reads, faults, the data check"),
    "audit": ("devstack.audit_cli", ["audit"], "count every topic's records against the steps' counters and "
                                               "the warehouse; name every gap (exit 1)"),
    "replay": ("devstack.audit_cli", ["replay"], "deliver a topic range or the dead letters again, "
                                                 "same batch ids (applied at most once)"),
    "try": ("devstack.try_cli", [], "run a workflow's steps on sample records with no broker: outputs, "
                                    "dead letters with reasons, windows"),
    "workflow": ("devstack.workflow_cli", [], "apply, start, stop, status, history, list: the workflow "
                                              "manager's API through the gateway"),
    "topic": ("devstack.topic_cli", [], "list the topics; tail a topic's records, unbatched"),
    "dlq": ("devstack.dlq_cli", [], "list a workflow's dead letters by step, reason, time; replay them "
                                    "(a letter lands once)"),
    "reset": ("devstack.reset_cli", [], "clear the run folder's state an empty broker contradicts: windows, "
                                        "cursors, runs"),
}


def _delegate(module: str, argv: list[str]) -> int:
    """Subcommands owned by other packages keep their own argparse; pass the rest through."""
    return int(importlib.import_module(module).main(argv) or 0)


def _interrupt(signum, _frame):
    raise KeyboardInterrupt(signal.Signals(signum).name)


def _interrupt_on(*signals: signal.Signals) -> None:
    """Ctrl-C and `kill` both unwind through the `finally` blocks that stop the stack. Set
    explicitly: a process started in the background inherits SIGINT ignored."""
    for sig in signals:
        signal.signal(sig, _interrupt)


def _kafka_nodes_option(p: argparse.ArgumentParser) -> None:
    p.add_argument("--kafka-nodes", type=int, choices=(1, 3), default=1,
                   help="with the real components: Apache Kafka nodes, 1 or 3 (three KRaft nodes, topics "
                        "replicated 3 with min.insync.replicas=2) (1)")


def _run_dir_option(p: argparse.ArgumentParser) -> None:
    p.add_argument("--run-dir", help="the stack's run folder (FAAS_ETL_RUN_DIR; .run/)")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="faas-etl", description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    p = sub.add_parser("build", help="write build/<fn>/ as `faas-cli build --shrinkwrap` would")
    p.add_argument("-f", "--file", default=str(REPO / "stack.yml"), help="stack file (stack.yml)")
    p.add_argument("-o", "--output", default=str(REPO / "build"), help="build root (build/)")
    p.add_argument("function", nargs="*", help="functions to build (default: all)")
    p.set_defaults(func=cmd_build)

    p = sub.add_parser("up", help="start broker, gateway, every function and the dashboard; "
                                  "Ctrl-C or `down` stops them")
    p.add_argument("--port", type=int, default=8080, help="gateway port on 127.0.0.1, with --real on the pod bridge "
                                                      "(8080; 0 picks a free one)")
    p.add_argument("-w", "--workflow", action="append", default=[], metavar="FILE",
                   help="also wire this workflow (topics + its Argo Events manifests, run by the "
                        "local runner, or with --real by the real Argo Events processes); repeatable")
    p.add_argument("--dashboard-port", type=int, default=DASHBOARD_PORT,
                   help=f"dashboard port on 127.0.0.1 ({DASHBOARD_PORT}; another when busy; 0 any)")
    p.add_argument("--no-dashboard", action="store_true", help="do not start the dashboard")
    p.add_argument("--real", action="store_true",
                   help="on the real components: Apache Kafka, the -w workflows' EventSources and Sensors "
                        "as the real Argo Events processes on a nats-server EventBus, the gateway on "
                        "the pod bridge (needs `make tools` and root; exit 1 naming what is missing)")
    _run_dir_option(p)
    _kafka_nodes_option(p)
    p.add_argument("--json", action="store_true", help="print the endpoints as one JSON line")
    p.set_defaults(func=cmd_up)

    p = sub.add_parser("down", help="stop the running `up` (found through its state file)")
    p.add_argument("--timeout", type=float, default=30.0, help="seconds to wait for it to stop (30)")
    _run_dir_option(p)
    p.add_argument("--json", action="store_true", help="print what was stopped as JSON")
    p.set_defaults(func=cmd_down)

    p = sub.add_parser("status", help="what the running `up` runs: functions, replicas per node, "
                                      "calls, topics; exit 3 when a function is not fully ready")
    _run_dir_option(p)
    p.add_argument("--json", action="store_true", help="print the status as JSON")
    p.set_defaults(func=cmd_status)

    p = sub.add_parser("logs", help="a function's logs, every replica's (like `faas-cli logs`)")
    p.add_argument("function", help="function name")
    p.add_argument("--tail", type=int, default=50, help="lines per replica to start with (50)")
    p.add_argument("-f", "--follow", action="store_true", help="keep printing new lines")
    _run_dir_option(p)
    p.set_defaults(func=cmd_logs)

    p = sub.add_parser("invoke", help="call a function through the gateway; the body from "
                                      "--data or standard input, the answer to standard output")
    p.add_argument("function", metavar="FUNCTION[/PATH]", help="function, optionally with a path "
                                                               "(ingest/orders-raw)")
    p.add_argument("-d", "--data", help="request body, or @FILE (default: standard input)")
    p.add_argument("-m", "--method", default="POST", help="HTTP method (POST)")
    p.add_argument("-q", "--query", action="append", default=[], metavar="KEY=VALUE",
                   help="query parameter; repeatable")
    p.add_argument("-H", "--header", action="append", default=[], metavar="NAME:VALUE",
                   help="request header; repeatable")
    p.add_argument("--async", dest="async_", action="store_true",
                   help="call /async-function/ (202, the answer is not waited for)")
    p.add_argument("--batch", type=int, metavar="N",
                   help="split a JSON array body into calls of N records (progress bar on a terminal)")
    p.add_argument("--no-progress", action="store_true", help="no progress bar")
    _run_dir_option(p)
    p.add_argument("--json", action="store_true",
                   help="print {status, seconds, call_id, body} (a list with --batch)")
    p.set_defaults(func=cmd_invoke)

    p = sub.add_parser("dashboard", help="serve the live dashboard for a gateway (by default the "
                                         "running `up`'s)")
    from .dashboard.cli import add_arguments

    add_arguments(p)
    _run_dir_option(p)
    p.set_defaults(func=cmd_dashboard)

    p = sub.add_parser("bench", help="run the benchmarks (bench/bench_*.py): ratios against "
                                     "baselines measured in the same run; exit 1 if a goal is missed")
    p.add_argument("name", nargs="*", help="only benchmarks whose name contains one of these")
    p.add_argument("--list", action="store_true", help="list the benchmarks and exit")
    p.set_defaults(func=cmd_bench)

    p = sub.add_parser("run", help="run the sample orders workflow end to end and print its books",
                       description="Run the sample orders workflow end to end on a fresh stack and print "
                                   "its books: on the real components (Apache Kafka, the real Argo Events "
                                   "processes) when every one is here (`make tools`, root), else on the "
                                   "stand-ins (Tansu, the local Argo runner); one line says which and why.")
    stack = p.add_mutually_exclusive_group()
    stack.add_argument("--real", dest="mode", action="store_const", const="real",
                       help="the real components, or exit 1 naming what is missing")
    stack.add_argument("--stand-in", dest="mode", action="store_const", const="stand-in",
                       help="the stand-ins, even where the real components could run")
    p.set_defaults(mode="auto")
    p.add_argument("--records", type=int, help="orders to POST to the ingest function "
                                               "(2000 on the stand-ins, 1000 on the real components)")
    p.add_argument("--legacy-rows", type=int, help="rows seeded in the legacy_orders table "
                                                   "(300 on the stand-ins, 200 on the real components)")
    p.add_argument("--batch", type=int, default=500, help="orders per ingest call (500)")
    _kafka_nodes_option(p)
    p.add_argument("--json", action="store_true", help="print the summary as JSON")
    p.set_defaults(func=cmd_run)

    for name, (_module, _prefix, text) in DELEGATED.items():
        # Listed for --help; the arguments go to the owning module's own parser (see main).
        sub.add_parser(name, help=text, add_help=False)
    return parser


def subcommands() -> list[str]:
    """Every subcommand, in --help order (what the help tests walk)."""
    action = next(a for a in build_parser()._actions if isinstance(a, argparse._SubParsersAction))
    return list(action.choices)


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    argv = sys.argv[1:] if argv is None else argv
    if argv and argv[0] in DELEGATED:
        module, prefix, _text = DELEGATED[argv[0]]
        return _delegate(module, prefix + argv[1:])
    args = parser.parse_args(argv)
    _interrupt_on(signal.SIGINT, signal.SIGTERM)
    try:
        return args.func(args)
    except KeyboardInterrupt:
        _say("interrupted")
        return 130


if __name__ == "__main__":
    sys.exit(main())
