"""``faas-etl reset``: clear what the embedded stack keeps that contradicts an empty broker.

The embedded broker (Tansu, memory storage) loses every topic and offset when ``up`` stops,
while the state database (STATE_URL, else ``<run folder>/step-state.db``: etlkit/state_db.py)
and the run folder keep:

* the aggregate's window state, applied batch ids and unsent outbox (tables ``agg_*``, and the
  layout before's ``step_*``): a re-fed file would find its windows closed and be dead-lettered
  as late;
* the sql sources' cursors and leases (tables ``source_cursors``, ``source_leases``, and the
  folder ``cursors/`` of the layout before): rows already read would not be read again into the
  new, empty topics;
* the workflow manager's runs (``argo-apply/``, ``argo-runs/``): the next ``up`` starts them again.

Those rows are deleted and those folders removed. What does not depend on the broker stays: the
state database's other tables (schema versions, workflow versions, host samples), the warehouse,
logs, secrets, builds. The tables are the ones their stores create (etlkit/state_store.py
``tables``, etlkit/sources/cursor_store.py ``TABLES``), read from there, not listed again here.

Refused while ``up`` runs (its functions hold the state open), unless ``--force``.
Exit codes: 0 reset (or nothing to reset), 1 refused or failed, 2 usage.
"""
from __future__ import annotations

import argparse
import json
import os
import pathlib
import shutil
import sys
from typing import Sequence

from etlkit import state_store
from etlkit.runs.local_backend import APPLY_DIR, RUNS_DIR
from etlkit.sources import cursor_store
from etlkit.state_db import StateDb, StateUnavailable, open_state_db, present_tables, state_url, table_names
from etlkit.warehouse.url import DatabaseUrlError, SqliteTarget, parse_database_url, redact_url

from . import runstate
from .stack_address import add_run_dir_option, run_dir_of

# (name in the run folder, what it is): the folders an empty broker contradicts.
FOLDERS = (
    ("cursors", "the sql sources' cursors of the layout before the state database"),
    (APPLY_DIR, "the workflow manager's runs (the next `up` would start them again)"),
    (RUNS_DIR, "the runs' status and runner copies"),
)


def broker_bound_tables(dialect: str) -> tuple[str, ...]:
    """The state database's tables whose rows an empty broker contradicts, as their stores
    name them: the aggregate's (and its layout before's), the sql sources' cursors and leases."""
    return (*table_names(state_store.tables(dialect)), *state_store.LEGACY_TABLES,
            *table_names(cursor_store.TABLES))


def found(run_dir: pathlib.Path) -> list[tuple[pathlib.Path, str]]:
    """The folders of :data:`FOLDERS` that are in ``run_dir``."""
    return [(run_dir / name, what) for name, what in FOLDERS if (run_dir / name).exists()]


def empty_tables(db: StateDb, *, dry_run: bool = False) -> list[tuple[str, int]]:
    """Delete every row of :func:`broker_bound_tables` in ``db`` (``dry_run``: count them);
    (table, rows) for each table that exists, in one transaction."""
    with db.transaction() as tx:
        out = []
        for table in present_tables(tx, db.dialect, broker_bound_tables(db.dialect)):
            if dry_run:
                ((rows,),) = tx.fetch(f"SELECT count(*) FROM {table}")
            else:
                rows = tx.execute(f"DELETE FROM {table}")
            out.append((table, rows))
    return out


def state_rows(url: str, *, dry_run: bool) -> list[tuple[str, int]]:
    """:func:`empty_tables` of the state database ``url``; nothing when it is a SQLite file that
    does not exist (a reset never creates one)."""
    target = parse_database_url(url, "STATE_URL")
    if isinstance(target, SqliteTarget) and not pathlib.Path(target.path).is_file():
        return []
    db = open_state_db(target, application_name="faas-etl-reset")
    try:
        return empty_tables(db, dry_run=dry_run)
    finally:
        db.close()


def reset(run_dir: pathlib.Path, url: str, *, dry_run: bool = False
          ) -> tuple[list[tuple[str, int]], list[tuple[pathlib.Path, str]]]:
    """Empty the broker-bound tables of the state database ``url`` and remove :data:`FOLDERS`
    from ``run_dir`` (``dry_run``: only count and list them): (table, rows) and (path, what).
    The one reset that ``faas-etl reset`` and ``up`` (on an empty broker) carry out."""
    tables = state_rows(url, dry_run=dry_run)
    targets = found(run_dir)
    if not dry_run:
        for path, _what in targets:
            if path.is_dir():
                shutil.rmtree(path)
            else:
                path.unlink(missing_ok=True)
    return tables, targets


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="faas-etl reset", description=(
        "Clear the embedded stack's state that an empty broker contradicts: the aggregate's "
        "windows, the sql sources' cursors, the workflow manager's runs. The warehouse, workflow "
        "definitions, schemas and logs stay. Refused while `faas-etl up` runs, unless --force."))
    add_run_dir_option(p)
    p.add_argument("--force", action="store_true",
                   help="reset even while `up` runs (its functions keep what they hold open until restarted)")
    p.add_argument("--dry-run", action="store_true", help="say what would be removed, remove nothing")
    p.add_argument("--json", action="store_true",
                   help="print {removed: [{path, what}], tables: [{table, rows}], state_url, running} as JSON")
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
    url = state_url(os.environ, folder=run_dir)
    try:
        tables, targets = reset(run_dir, url, dry_run=args.dry_run)
    except (DatabaseUrlError, StateUnavailable) as exc:
        print(f"faas-etl reset: state database {redact_url(url)}: {exc}", file=sys.stderr)
        return 1
    verb = "would remove" if args.dry_run else "removed"
    if args.json:
        print(json.dumps({"run_dir": str(run_dir), "dry_run": args.dry_run, "running": running is not None,
                          "state_url": redact_url(url),
                          "tables": [{"table": t, "rows": n} for t, n in tables],
                          "removed": [{"path": str(p), "what": w} for p, w in targets]}))
        return 0
    said = [f"{verb} {n} rows of table {t} in {redact_url(url)}" for t, n in tables if n]
    said += [f"{verb} {p}: {w}" for p, w in targets]
    print("\n".join(said) if said else f"nothing to reset in {run_dir} (state database {redact_url(url)})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
