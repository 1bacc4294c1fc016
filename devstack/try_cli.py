"""``faas-etl try WORKFLOW --input FILE``: a workflow's steps on sample records, no broker.

Checks first, in order, and stops at the first phase that finds anything: the workflow file
(:func:`etlkit.workflow.load_workflow`, every error), then the step parameters' field names
against the topics' schemas (:mod:`devstack.field_check`). Then runs (:mod:`devstack.trial`) and
prints each step's output records, the dead letters with their reasons and the aggregate's
windows, closed at the end of the input. Exit codes: 0 ran, 1 refused or failed (the reason on
standard error, or as ``{"errors": [...]}`` with ``--json``), 2 usage.
"""
from __future__ import annotations

import argparse
import json
import pathlib
import sys
from typing import Any, Sequence

from etlkit.kafka_io import now_ms
from etlkit.workflow import WorkflowInvalid

from .field_check import field_errors
from .schema_source import SchemaOptionError, add_options, schemas_of
from .trial import Trial, TrialError, run_trial
from .workflow_files import workflow_file

REPO = pathlib.Path(__file__).resolve().parent.parent


def build_parser(prog: str = "faas-etl try") -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog=prog, description=(
        "Run a workflow's steps on sample records with no broker, through the code the functions "
        "run, and print each step's output, the dead letters with their reasons and the windows "
        "the aggregate closes at the end of the input. Step parameters are checked against the "
        "topics' schemas first: a field name no schema declares is refused before anything runs."))
    add_arguments(p)
    return p


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("workflow", metavar="WORKFLOW", help="workflow file, or a name under workflows/")
    p.add_argument("-i", "--input", required=True, metavar="FILE",
                   help="sample records: JSON Lines or CSV (read as the workflow's file source reads its file)")
    p.add_argument("--step", metavar="NAME", help="run the steps up to this one and print only its output")
    p.add_argument("--source", metavar="NAME", help="the source the sample enters by (default: the "
                                                    "workflow's file source, else its first source)")
    add_options(p)
    p.add_argument("--run-dir", help="the stack's run folder, for its schema store (FAAS_ETL_RUN_DIR; .run/)")
    p.add_argument("--limit", type=int, default=20, help="records printed per step, without --json (20)")
    p.add_argument("--json", action="store_true", help="print the outputs, letters and windows as JSON")


def checked(args: argparse.Namespace):
    """The workflow, refused (:class:`WorkflowInvalid`) when its fields do not match its schemas."""
    workflow = workflow_file(args.workflow)
    topics = [t.name for t in workflow.topics]
    errors = field_errors(workflow, schemas_of(args, topics))
    if errors:
        raise WorkflowInvalid(errors)
    return workflow


def run(args: argparse.Namespace) -> int:
    try:
        workflow = checked(args)
        trial = run_trial(workflow, pathlib.Path(args.input), now_ms(), source_name=args.source,
                          until=args.step, lookup_root=REPO)
    except WorkflowInvalid as exc:
        return _refused(args, [str(e) for e in exc.errors])
    except (TrialError, SchemaOptionError, OSError) as exc:
        return _refused(args, [str(exc)])
    print(json.dumps(trial.to_dict()) if args.json else render(trial, args.limit))
    return 0


def _refused(args: argparse.Namespace, errors: list[str]) -> int:
    if args.json:
        print(json.dumps({"workflow": args.workflow, "errors": errors}))
    for error in errors:
        print(f"faas-etl try: {args.workflow}: {error}", file=sys.stderr)
    return 1


def render(trial: Trial, limit: int) -> str:
    doc = trial.to_dict()
    src = doc["source"]
    lines = [f"source {src['name']} -> {src['topic']}: {src['records']} records, "
             f"{src['dead_lettered']} dead-lettered"]
    for step in doc["steps"]:
        c = step["counters"]
        rows = step.get("windows", step.get("records", []))
        lines += ["", f"step {step['name']} ({step['kind']}) -> {step['output']}: in {c.get('in', 0)}, "
                      f"out {c.get('out', 0)}, filtered {c.get('filtered', 0)}, "
                      f"dead-lettered {c.get('dead_lettered', 0)}, emitted {c.get('emitted', 0)}"]
        label = "window" if step["kind"] == "aggregate" else "record"
        lines += [f"  {label} {_compact(r['value'])}" for r in rows[:limit]]
        if len(rows) > limit:
            lines.append(f"  ... {len(rows) - limit} more (--limit, or --json for all)")
    letters = doc["dead_letters"]
    lines += ["", f"dead letters: {len(letters)}"]
    lines += [f"  {d['step']}: {d['reason']}  payload {_compact(d['payload'])}" for d in letters]
    return "\n".join(lines)


def _compact(value: Any) -> str:
    return json.dumps(value, separators=(",", ":"), ensure_ascii=False)


def main(argv: Sequence[str] | None = None) -> int:
    return run(build_parser().parse_args(argv))


if __name__ == "__main__":
    sys.exit(main())
