"""faas-etl reset: removes the run folder's state an empty broker contradicts and says what,
keeps the rest, and refuses while `up` runs unless --force."""
from __future__ import annotations

import json
import os
import subprocess
import sys
import time

from devstack import runstate
from devstack.reset_cli import main as reset


def run_folder(tmp_path):
    for name in ("step-state.db", "step-state.db-wal", "warehouse.db", "workflows.db", "schemas.json"):
        (tmp_path / name).write_text("x")
    for folder in ("cursors", "argo-apply/clicks", "argo-runs", "logs"):
        (tmp_path / folder).mkdir(parents=True)
    return tmp_path


def test_reset_removes_windows_cursors_and_runs_and_keeps_the_rest(tmp_path, capsys):
    run_dir = run_folder(tmp_path)
    assert reset(["--run-dir", str(run_dir), "--json"]) == 0
    doc = json.loads(capsys.readouterr().out)
    assert sorted(os.path.basename(r["path"]) for r in doc["removed"]) == \
        ["argo-apply", "argo-runs", "cursors", "step-state.db", "step-state.db-wal"]
    assert sorted(p.name for p in run_dir.iterdir()) == ["logs", "schemas.json", "warehouse.db", "workflows.db"]
    assert reset(["--run-dir", str(run_dir)]) == 0
    assert capsys.readouterr().out.startswith("nothing to reset")


def test_dry_run_removes_nothing(tmp_path, capsys):
    run_dir = run_folder(tmp_path)
    assert reset(["--run-dir", str(run_dir), "--dry-run"]) == 0
    assert "would remove" in capsys.readouterr().out and (run_dir / "cursors").is_dir()


def test_reset_is_refused_while_up_runs_unless_forced(tmp_path, capsys):
    run_dir = run_folder(tmp_path)
    # a process that runstate takes for `faas-etl up` (its command line names devstack.cli up)
    fake = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)", "devstack.cli", "up"])
    try:
        runstate.write_state(runstate.UpState(pid=fake.pid, run_dir=str(run_dir), gateway="http://g", kafka="k",
                                              user="u", password_file="p", secrets_dir="s", log_dir="l",
                                              started_at=time.time()))
        assert reset(["--run-dir", str(run_dir)]) == 1
        assert f"`faas-etl up` runs (pid {fake.pid})" in capsys.readouterr().err
        assert (run_dir / "step-state.db").exists()
        assert reset(["--run-dir", str(run_dir), "--force"]) == 0
        assert not (run_dir / "step-state.db").exists()
    finally:
        fake.kill()
        fake.wait()
