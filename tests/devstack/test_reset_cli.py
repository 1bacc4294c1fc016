"""faas-etl reset: deletes the state database's rows an empty broker contradicts (the
aggregate's windows, the sql sources' cursors) and removes the run folder's runs, says what,
keeps the rest (schema versions, the warehouse, logs), and refuses while `up` runs unless
--force. The rows are written by the real stores, on SQLite (the run folder's step-state.db) and
on a real PostgreSQL (STATE_URL)."""
from __future__ import annotations

import json
import os
import subprocess
import sys
import time

import pytest

from devstack import runstate
from devstack.reset_cli import main as reset
from etlkit.schemas import StateDbSchemaStore
from etlkit.sources.cursor_store import Cursor, StateDbCursorStore
from etlkit.state_db import open_state_db
from etlkit.state_store import StateStore
from etlkit.warehouse.url import parse_database_url
from tests.etlkit.test_state_store import START, Recorder, _event, call


def run_folder(tmp_path):
    for name in ("warehouse.db", "workflows.db", "schemas.json"):
        (tmp_path / name).write_text("x")
    for folder in ("cursors", "argo-apply/clicks", "argo-runs", "logs"):
        (tmp_path / folder).mkdir(parents=True)
    return tmp_path


@pytest.fixture(params=["run folder", "STATE_URL"])
def state(request, tmp_path, monkeypatch):
    """The state database a reset of ``tmp_path`` empties, holding a schema version, a cursor,
    a lease and the windows of one aggregate call, each written by its store."""
    if request.param == "run folder":
        monkeypatch.delenv("STATE_URL", raising=False)
        url = f"sqlite:///{tmp_path / 'step-state.db'}"
    else:
        url = request.getfixturevalue("postgres_state_url")
        monkeypatch.setenv("STATE_URL", url)
    db = open_state_db(parse_database_url(url, "STATE_URL"))
    StateDbSchemaStore(db).append("orders", 1, {"type": "object"})
    cursors = StateDbCursorStore(db)
    cursors.advance("shop", None, Cursor(7, 7))
    assert cursors.acquire("shop", "tick-1", 0, 60_000)
    events = [_event(p, 0, [(p, {"k": "a", "t": START, "v": 1})]) for p in (0, 1)]
    assert [call(StateStore(db), e, Recorder(tmp_path / "log.jsonl"))[0] for e in events] == [200, 200]
    return db


def rows(db):
    tables = ("schema_versions", "source_cursors", "source_leases", "agg_head", "agg_lane", "agg_window", "agg_outbox")
    return {t: db.query(f"SELECT count(*) FROM {t}")[0][0] for t in tables}


def test_reset_deletes_windows_and_cursors_keeps_schemas_and_removes_runs(state, tmp_path, capsys):
    run_dir = run_folder(tmp_path)
    assert rows(state) == {"schema_versions": 1, "source_cursors": 1, "source_leases": 1, "agg_head": 1,
                           "agg_lane": 2, "agg_window": 2, "agg_outbox": 0}
    assert reset(["--run-dir", str(run_dir), "--json"]) == 0
    doc = json.loads(capsys.readouterr().out)
    assert {t["table"]: t["rows"] for t in doc["tables"]} == {
        "agg_head": 1, "agg_lane": 2, "agg_window": 2, "agg_outbox": 0, "source_cursors": 1, "source_leases": 1}
    assert rows(state) == {"schema_versions": 1, "source_cursors": 0, "source_leases": 0, "agg_head": 0,
                           "agg_lane": 0, "agg_window": 0, "agg_outbox": 0}
    assert StateDbSchemaStore(state).load() == {"orders": [{"type": "object"}]}
    assert sorted(os.path.basename(r["path"]) for r in doc["removed"]) == ["argo-apply", "argo-runs", "cursors"]
    assert sorted(p.name for p in run_dir.iterdir() if not p.name.startswith(("step-state.db", "log"))) == [
        "schemas.json", "warehouse.db", "workflows.db"]
    assert (run_dir / "logs").is_dir()
    assert reset(["--run-dir", str(run_dir)]) == 0
    assert capsys.readouterr().out.startswith("nothing to reset")


def test_reset_says_the_rows_it_deleted(state, tmp_path, capsys):
    assert reset(["--run-dir", str(run_folder(tmp_path))]) == 0
    out = capsys.readouterr().out
    assert "removed 2 rows of table agg_window in " in out and "removed 1 rows of table source_cursors" in out
    assert "schema_versions" not in out


def test_reset_of_a_run_folder_without_a_state_database_creates_none(tmp_path, monkeypatch, capsys):
    monkeypatch.delenv("STATE_URL", raising=False)
    assert reset(["--run-dir", str(tmp_path)]) == 0
    assert capsys.readouterr().out.startswith("nothing to reset") and not (tmp_path / "step-state.db").exists()


def test_dry_run_removes_nothing(state, tmp_path, capsys):
    run_dir = run_folder(tmp_path)
    assert reset(["--run-dir", str(run_dir), "--dry-run"]) == 0
    assert "would remove 2 rows of table agg_window" in capsys.readouterr().out
    assert (run_dir / "cursors").is_dir() and rows(state)["agg_window"] == 2


def test_reset_is_refused_while_up_runs_unless_forced(tmp_path, monkeypatch, capsys):
    monkeypatch.delenv("STATE_URL", raising=False)
    run_dir = run_folder(tmp_path)
    # a process that runstate takes for `faas-etl up` (its command line names devstack.cli up)
    fake = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)", "devstack.cli", "up"])
    try:
        runstate.write_state(runstate.UpState(pid=fake.pid, run_dir=str(run_dir), gateway="http://g", kafka="k",
                                              user="u", password_file="p", secrets_dir="s", log_dir="l",
                                              started_at=time.time()))
        assert reset(["--run-dir", str(run_dir)]) == 1
        assert f"`faas-etl up` runs (pid {fake.pid})" in capsys.readouterr().err
        assert (run_dir / "argo-runs").exists()
        assert reset(["--run-dir", str(run_dir), "--force"]) == 0
        assert not (run_dir / "argo-runs").exists()
    finally:
        fake.kill()
        fake.wait()
