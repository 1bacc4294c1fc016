"""The faas-etl command: help everywhere, and the main job end to end."""
import json
import os
import subprocess
import sys

import pytest

from devstack.cli import main
from devstack.runstate import process_alive

OWN_SUBCOMMANDS = ["build", "up", "run"]


@pytest.mark.parametrize("sub", OWN_SUBCOMMANDS)
def test_help_of_every_subcommand(sub, capsys):
    with pytest.raises(SystemExit) as exit_:
        main([sub, "--help"])
    assert exit_.value.code == 0
    assert f"usage: faas-etl {sub}" in capsys.readouterr().out


@pytest.mark.parametrize("sub", ["simulate", "validate", "render"])
def test_help_of_delegated_subcommands(sub, capsys):
    with pytest.raises(SystemExit) as exit_:
        main([sub, "--help"])
    assert exit_.value.code == 0
    assert "usage:" in capsys.readouterr().out


def test_unknown_subcommand_is_a_usage_error(capsys):
    with pytest.raises(SystemExit) as exit_:
        main(["no-such-command"])
    assert exit_.value.code == 2


def test_build_writes_contexts(tmp_path, capsys):
    assert main(["build", "-o", str(tmp_path), "ingest"]) == 0
    assert (tmp_path / "ingest" / "function" / "handler.py").is_file()
    assert "ingest shrink-wrapped to" in capsys.readouterr().out


LAPTOP = {"FAAS_ETL_TOOLS": "/nonexistent"}  # no `make tools` output: what a machine without Go or a JDK has


def test_run_lands_every_record_once_and_prints_json(tmp_path):
    """`make run`'s job: the sample workflow from three sources to the warehouse, books balanced.
    On a laptop (no real components) the default runs on the stand-ins and says why."""
    out = subprocess.run([sys.executable, "-m", "devstack.cli", "run", "--records", "600",
                          "--legacy-rows", "100", "--batch", "250", "--json"], capture_output=True,
                         text=True, timeout=180, env={**os.environ, **LAPTOP, "FAAS_ETL_RUN_DIR": str(tmp_path)})
    assert out.returncode == 0, out.stderr
    summary = json.loads(out.stdout)
    assert summary["stack"]["kind"] == "stand-in"
    assert summary["stack"]["name"] == "stand-ins (Tansu, local Argo runner)"
    said = "==> real parts unavailable: /nonexistent/kafka/libs is missing: run `make tools`"
    assert said in out.stderr and out.stderr.count("; running on the stand-ins\n") == 1
    assert summary["ok"] is True, summary["problems"]
    sources = {s["name"]: (s["sent"], s["on_topic"], s["dead_lettered"]) for s in summary["sources"]}
    # 600 orders (the windows close on an end of input, no extra order); 201 CSV lines, one too
    # short to parse.
    assert sources == {"orders-api": (600, 600, 0), "orders-csv": (201, 200, 1), "legacy-orders": (100, 100, 0)}
    steps = {s["name"]: s for s in summary["steps"]}
    assert steps["paid-only"]["in"] == 600 + 200 + 100
    for step in summary["steps"]:
        assert step["in"] == step["out"] + step["filtered"] + step["dead_lettered"], step
    assert steps["normalise"]["in"] == steps["paid-only"]["out"]
    assert steps["sink"]["in"] == steps["per-country"]["emitted"] == summary["warehouse"]["rows"] > 0
    assert sum(d["count"] for d in summary["dead_letters"]) == \
        sum(s["dead_lettered"] for s in summary["steps"]) + 1
    assert summary["skipped_sensors"] == []  # every Sensor runs, the autoscaler too (issue 6)


def test_run_real_on_a_laptop_exits_1_naming_every_missing_part(tmp_path):
    out = subprocess.run([sys.executable, "-m", "devstack.cli", "run", "--real"], capture_output=True, text=True,
                         timeout=60, env={**os.environ, **LAPTOP, "FAAS_ETL_RUN_DIR": str(tmp_path)})
    assert out.returncode == 1 and out.stdout == ""
    assert out.stderr.startswith("faas-etl run: --real: real parts missing: ")
    for part in ("/nonexistent/kafka/libs", "/nonexistent/bin/argo-events", "/nonexistent/bin/nats-server"):
        assert part in out.stderr
    assert not (tmp_path / "workflow-orders").exists()  # refused before anything started


def test_up_real_on_a_laptop_exits_1_naming_what_is_missing(tmp_path):
    out = subprocess.run([sys.executable, "-m", "devstack.cli", "up", "--real", "--run-dir", str(tmp_path)],
                         capture_output=True, text=True, timeout=60, env={**os.environ, **LAPTOP})
    assert out.returncode == 1 and out.stdout == ""
    assert out.stderr.startswith("faas-etl up: --real: real parts missing: /nonexistent/kafka/libs is missing")
    assert not (tmp_path / "up.json").exists()


def test_run_takes_one_stack_flag_at_most(capsys):
    with pytest.raises(SystemExit) as exit_:
        main(["run", "--real", "--stand-in"])
    assert exit_.value.code == 2
    assert "not allowed with argument --real" in capsys.readouterr().err


@pytest.mark.parametrize("sig", ["SIGINT", "SIGTERM"], ids=["ctrl-c", "kill"])
def test_up_stops_every_process_it_started_on_a_signal(sig, tmp_path):
    import signal
    import time

    import requests

    proc = subprocess.Popen([sys.executable, "-m", "devstack.cli", "up", "--port", "0", "--json"],
                            stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True,
                            env={**os.environ, "FAAS_ETL_RUN_DIR": str(tmp_path)})
    try:
        info = json.loads(proc.stdout.readline())
        password = open(info["password_file"]).read().strip()
        functions = requests.get(info["gateway"] + "/system/functions",
                                 auth=(info["user"], password), timeout=10).json()
        pids = [i["pid"] for f in functions for i in f["instances"]]
        assert pids, "up started no function replica"
        proc.send_signal(getattr(signal, sig))
        assert proc.wait(30) == 0
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline and any(process_alive(p) for p in pids):
            time.sleep(0.1)
        assert not [p for p in pids if process_alive(p)]
    finally:
        proc.kill()
