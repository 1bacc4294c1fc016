"""``faas-etl workflow apply|start|stop|status|history|list``: the workflow manager's REST API
(functions/workflow-manager/handler.py) through the gateway, as ``kubectl`` is to the API server.

``apply FILE`` checks the file first as ``faas-etl try`` does (every field and rule, then step
parameters' field names against the topics' schemas), then creates the workflow or, when it
exists, stores the file as its next version (``PUT ?expected_version=<latest>``); a file equal
to the latest version changes nothing. Exit codes: 0 done, 1 refused or failed (the manager's
reason, each error naming its field), 2 usage, 3 (``status``) a run that failed or reports errors.
"""
from __future__ import annotations

import argparse
import datetime as dt
import json
import sys
from typing import Any, Sequence

from etlkit.controller.errors import EdgeError
from etlkit.controller.gateway import Gateway
from etlkit.workflow import WorkflowInvalid, parse_workflow

from .field_check import field_errors
from .schema_source import SchemaOptionError, add_options, schemas_of
from .stack_address import NoStack, add_gateway_options, add_run_dir_option, where
from .workflow_files import NoWorkflowFile, workflow_path

MANAGER = "/function/workflow-manager"
EXIT_OK, EXIT_FAILED, EXIT_DEGRADED = 0, 1, 3


class Refused(RuntimeError):
    """The manager answered an error; ``errors`` are its reasons, each naming a field."""

    def __init__(self, status: int, errors: list[str]) -> None:
        super().__init__("; ".join(errors))
        self.status, self.errors = status, errors


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="faas-etl workflow", description=(
        "Workflows through the workflow manager's REST API over the gateway: store a definition "
        "(a new version each change), start and stop its run, its status, its versions."))
    sub = p.add_subparsers(dest="action", required=True, metavar="ACTION")
    apply = sub.add_parser("apply", help="create the workflow, or store the file as its next version")
    apply.add_argument("file", metavar="FILE", help="workflow file, or a name under workflows/")
    add_options(apply)
    for name, text in (("start", "start its run (topics created, EventSources and Sensors applied)"),
                       ("stop", "stop its run (topics and consumer offsets stay: a start resumes)"),
                       ("status", "its run: state, reason, each step's records and backlog; exit 3 when "
                                  "it failed or reports errors"),
                       ("history", "its versions, oldest first")):
        action = sub.add_parser(name, help=text)
        action.add_argument("name", metavar="NAME", help="workflow name")
        if name == "start":
            action.add_argument("--version", type=int, help="the version to run (default: the latest)")
    sub.add_parser("list", help="every stored workflow with its latest version and its run's state")
    for action in sub.choices.values():
        add_gateway_options(action)
        add_run_dir_option(action)
        action.add_argument("--timeout", type=float, default=60.0, help="seconds to wait for an answer (60)")
        action.add_argument("--json", action="store_true", help="print the manager's answer as JSON")
    return p


def call(gateway: Gateway, method: str, path: str, **kw) -> Any:
    """The manager's JSON answer; :class:`Refused` with its reasons when it is not 2xx."""
    resp = gateway.request(method, f"{MANAGER}{path}", edge="workflow-manager", **kw)
    try:
        doc = resp.json()
    except ValueError:
        doc = {"error": resp.text.strip() or f"HTTP {resp.status_code}"}
    if resp.status_code >= 300:
        errors = doc.get("errors") or [doc.get("error", f"HTTP {resp.status_code}")] if isinstance(doc, dict) \
            else [str(doc)]
        raise Refused(resp.status_code, [str(e) for e in errors])
    return doc


def apply(gateway: Gateway, text: str, name: str) -> dict[str, Any]:
    """Create ``name`` from ``text``, or store ``text`` as its next version unless it is the latest."""
    try:
        created = call(gateway, "POST", "/workflows", data=text.encode())
        return {**created, "action": "created"}
    except Refused as exc:
        if exc.status != 409:
            raise
    latest = call(gateway, "GET", f"/workflows/{name}")
    if latest["document"] == text:
        return {"name": name, "version": latest["version"], "action": "unchanged"}
    updated = call(gateway, "PUT", f"/workflows/{name}", params={"expected_version": latest["version"]},
                   data=text.encode())
    return {**updated, "action": "updated"}


def _checked_text(args: argparse.Namespace) -> tuple[str, str]:
    """The file's text and workflow name, refused (:class:`WorkflowInvalid`) before any call."""
    text = workflow_path(args.file).read_text(encoding="utf-8")
    workflow = parse_workflow(text)
    errors = field_errors(workflow, schemas_of(args, [t.name for t in workflow.topics]))
    if errors:
        raise WorkflowInvalid(errors)
    return text, workflow.name


def run(args: argparse.Namespace) -> int:
    try:
        if args.action == "apply":
            text, name = _checked_text(args)
        place = where(args, kafka=False, gateway=True)
        gateway = Gateway.from_secrets(place.gateway, place.secrets_dir, timeout_s=args.timeout)
        if args.action == "apply":
            doc = apply(gateway, text, name)
        elif args.action == "start":
            doc = call(gateway, "POST", f"/workflows/{args.name}/run",
                       params={} if args.version is None else {"version": args.version})
        elif args.action == "stop":
            doc = call(gateway, "DELETE", f"/workflows/{args.name}/run")
        elif args.action == "status":
            doc = call(gateway, "GET", f"/workflows/{args.name}/run")
        elif args.action == "history":
            doc = call(gateway, "GET", f"/workflows/{args.name}/history")
        else:
            runs = {r["name"]: r for r in call(gateway, "GET", "/runs")}
            doc = [{**w, "run": runs.get(w["name"], {}).get("state", "stopped"),
                    "running_version": runs.get(w["name"], {}).get("version")}
                   for w in call(gateway, "GET", "/workflows")]
    except (WorkflowInvalid, Refused) as exc:
        return _refused(args, [str(e) for e in exc.errors])
    except (NoWorkflowFile, SchemaOptionError, NoStack, EdgeError, OSError) as exc:
        return _refused(args, [str(exc)])
    print(json.dumps(doc) if args.json else render(args.action, doc))
    if args.action == "status" and (doc.get("state") == "failed" or doc.get("errors")):
        return EXIT_DEGRADED
    return EXIT_OK


def _refused(args: argparse.Namespace, errors: list[str]) -> int:
    if args.json:
        print(json.dumps({"errors": errors}))
    for error in errors:
        print(f"faas-etl workflow {args.action}: {error}", file=sys.stderr)
    return EXIT_FAILED


def _when(ms: Any) -> str:
    if not isinstance(ms, (int, float)):
        return "-"
    return dt.datetime.fromtimestamp(ms / 1000, dt.timezone.utc).strftime("%Y-%m-%d %H:%M:%S UTC")


def render(action: str, doc: Any) -> str:
    if action == "apply":
        return f"workflow {doc['name']} version {doc['version']} {doc['action']}"
    if action in ("start", "stop"):
        removed = f" (removed {', '.join(doc['removed'])})" if doc.get("removed") else ""
        return f"workflow {doc['name']}: {doc.get('state')}" + (f": {doc['reason']}" if doc.get("reason") else "") \
            + removed
    if action == "history":
        return "\n".join(f"version {v['version']}  {_when(v['created_at_ms'])}" + ("  deleted" if v["deleted"] else "")
                         for v in doc)
    if action == "list":
        lines = [f"{'WORKFLOW':<26}{'VERSION':>8}  {'RUN':<10}CREATED"]
        lines += [f"{w['name']:<26}{w['version']:>8}  {w['run']:<10}{_when(w['created_at_ms'])}" for w in doc]
        return "\n".join(lines)
    lines = [f"workflow {doc.get('name')} version {doc.get('version')}: {doc.get('state')}"
             + (f" ({doc['reason']})" if doc.get("reason") else "")]
    lines += ["", f"{'STEP':<22}{'FUNCTION':<18}{'IN':>8}{'OUT':>8}{'FILTERED':>9}{'DEAD':>6}{'BACKLOG':>9}"]
    for step in doc.get("steps") or ():
        r = step.get("records") or {}
        backlog = sum(i.get("backlog") or 0 for i in step.get("inputs") or ())
        lines.append(f"{step['name']:<22}{step.get('function', ''):<18}{r.get('in', 0):>8}{r.get('out', 0):>8}"
                     f"{r.get('filtered', 0):>9}{r.get('dead_lettered', 0):>6}{backlog:>9}")
    lines += [f"skipped {s}" for s in doc.get("skipped") or ()]
    lines += [f"error {edge}: {why}" for edge, why in (doc.get("errors") or {}).items()]
    return "\n".join(lines)


def main(argv: Sequence[str] | None = None) -> int:
    return run(build_parser().parse_args(argv))


if __name__ == "__main__":
    sys.exit(main())
