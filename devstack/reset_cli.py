"""``faas-etl reset``: clear what the embedded stack keeps in its run folder that contradicts an
empty broker.

The embedded broker (Tansu, memory storage) loses every topic and offset when ``up`` stops,
while the run folder keeps: the aggregate's window state and applied batch ids
(``step-state.db``; a re-fed file then finds its windows closed and is dead-lettered as late),
the sql sources' cursors (``cursors/``: rows already read are not read again into the new,
empty topics), and the workflow manager's runs (``argo-apply/``, ``argo-runs/``: the next ``up``
starts them again). Those are removed; what does not depend on the broker stays (the warehouse,
stored workflow definitions, schemas, logs, secrets, builds).

Refused while ``up`` runs (its functions hold the state open), unless ``--force``.
Exit codes: 0 reset (or nothing to reset), 1 refused or failed, 2 usage.
"""
from __future__ import annotations

import argparse
import json
import pathlib
import shutil
import sys
from typing import Sequence

from etlkit.runs.local_backend import APPLY_DIR, RUNS_DIR

from . import runstate
from .stack_address import add_run_dir_option, run_dir_of

# (name in the run folder, what it is): the state an empty broker contradicts.
STATE = (
    ("step-state.db", "window state and applied batch ids of the aggregate steps"),
    ("step-state.db-wal", "its write-ahead log"),
    ("step-state.db-shm", "its shared memory index"),
    ("cursors", "the sql sources' cursors"),
    (APPLY_DIR, "the workflow manager's runs (the next `up` would start them again)"),
    (RUNS_DIR, "the runs' status and runner copies"),
)


def found(run_dir: pathlib.Path) -> list[tuple[pathlib.Path, str]]:
    """What a reset removes from ``run_dir``: the parts of :data:`STATE` that are there."""
    return [(run_dir / name, what) for name, what in STATE if (run_dir / name).exists()]


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="faas-etl reset", description=(
        "Clear the embedded stack's state that an empty broker contradicts: the aggregate's "
        "windows, the sql sources' cursors, the workflow manager's runs. The warehouse, workflow "
        "definitions, schemas and logs stay. Refused while `faas-etl up` runs, unless --force."))
    add_run_dir_option(p)
    p.add_argument("--force", action="store_true",
                   help="reset even while `up` runs (its functions keep what they hold open until restarted)")
    p.add_argument("--dry-run", action="store_true", help="say what would be removed, remove nothing")
    p.add_argument("--json", action="store_true", help="print {removed: [{path, what}], running} as JSON")
    return p


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    run_dir = run_dir_of(args)
    try:
        running = runstate.read_state(run_dir)
    except runstate.NotRunning:
        running = None
    if running is not None and not args.force:
        print(f"faas-etl reset: `faas-etl up` runs (pid {running.pid}) on {run_dir}: `faas-etl down` "
              f"first, or --force", file=sys.stderr)
        return 1
    targets = found(run_dir)
    if not args.dry_run:
        for path, _what in targets:
            if path.is_dir():
                shutil.rmtree(path)
            else:
                path.unlink(missing_ok=True)
    verb = "would remove" if args.dry_run else "removed"
    if args.json:
        print(json.dumps({"run_dir": str(run_dir), "dry_run": args.dry_run, "running": running is not None,
                          "removed": [{"path": str(p), "what": w} for p, w in targets]}))
    elif targets:
        print("\n".join(f"{verb} {p}: {w}" for p, w in targets))
    else:
        print(f"nothing to reset in {run_dir}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
