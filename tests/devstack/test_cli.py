"""The faas-etl command: help everywhere, and the main job end to end."""
import json
import subprocess
import sys

import pytest

from devstack.cli import main

OWN_SUBCOMMANDS = ["build", "up", "run"]


@pytest.mark.parametrize("sub", OWN_SUBCOMMANDS)
def test_help_of_every_subcommand(sub, capsys):
    with pytest.raises(SystemExit) as exit_:
        main([sub, "--help"])
    assert exit_.value.code == 0
    assert f"usage: faas-etl {sub}" in capsys.readouterr().out


@pytest.mark.parametrize("sub", ["validate", "render"])
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


def test_run_lands_every_record_once_and_prints_json():
    out = subprocess.run([sys.executable, "-m", "devstack.cli", "run", "--records", "600",
                          "--batch", "250", "--json"], capture_output=True, text=True, timeout=180)
    assert out.returncode == 0, out.stderr
    summary = json.loads(out.stdout)
    assert summary["ok"] is True
    assert summary["sent"] == summary["accepted"] == summary["on_topic"] == 600
