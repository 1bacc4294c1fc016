"""The state file that lets other commands find a running `up`, and the log helpers."""
import os
import subprocess
import sys

import pytest

from devstack import runstate


def _state(tmp_path, pid):
    return runstate.UpState(pid=pid, run_dir=str(tmp_path), gateway="http://127.0.0.1:1", kafka="k",
                            user="admin", password_file=str(tmp_path / "pw"), secrets_dir="s",
                            log_dir=str(tmp_path / "logs"), started_at=1.0, workflows=("orders",))


@pytest.fixture
def fake_up():
    """A process whose command line is that of `faas-etl up` (it only sleeps)."""
    proc = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)", "faas-etl", "up"])
    yield proc
    proc.kill()
    proc.wait()


def test_a_running_up_is_found(tmp_path, fake_up):
    runstate.write_state(_state(tmp_path, fake_up.pid))
    state = runstate.read_state(tmp_path)
    assert (state.pid, state.workflows) == (fake_up.pid, ("orders",))


def test_a_pid_that_is_not_an_up_is_never_taken_for_one(tmp_path):
    runstate.write_state(_state(tmp_path, os.getpid()))  # alive, but pytest, not `up`
    with pytest.raises(runstate.NotRunning, match="no longer running"):
        runstate.read_state(tmp_path)


def test_a_state_file_whose_process_is_gone_is_stale(tmp_path):
    gone = subprocess.Popen([sys.executable, "-c", "pass"])
    gone.wait()
    runstate.write_state(_state(tmp_path, gone.pid))
    with pytest.raises(runstate.NotRunning, match="no longer running"):
        runstate.read_state(tmp_path)


def test_no_state_file_says_where_it_looked(tmp_path):
    with pytest.raises(runstate.NotRunning, match=str(tmp_path)):
        runstate.read_state(tmp_path)


def test_only_the_owner_removes_the_state_file(tmp_path):
    runstate.write_state(_state(tmp_path, os.getpid()))
    runstate.remove_state(tmp_path, os.getpid() + 1)  # an older `up` exiting late
    assert (tmp_path / runstate.STATE_FILE).exists()
    runstate.remove_state(tmp_path, os.getpid())
    assert not (tmp_path / runstate.STATE_FILE).exists()


def test_log_files_of_a_function_in_replica_order(tmp_path):
    for name in ("map-10.log", "map-9.log", "map-extra-1.log", "mapper-1.log", "map-2.txt"):
        (tmp_path / name).write_text("")
    assert [p.name for p in runstate.log_files(tmp_path, "map")] == ["map-9.log", "map-10.log"]


@pytest.mark.parametrize("count,chunk", [(3, 64 * 1024), (3, 7), (0, 7), (99, 5)],
                         ids=["one-read", "many-small-reads", "none", "more-than-the-file"])
def test_tail_lines(tmp_path, count, chunk):
    lines = [f"line {i}" for i in range(20)]
    path = tmp_path / "x.log"
    path.write_text("\n".join(lines) + "\n")
    assert runstate.tail_lines(path, count, chunk) == (lines[-count:] if count else [])
