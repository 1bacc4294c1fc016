"""Every faas-etl subcommand answers --help, every option says what it does, and the --json
output a script reads parses (here without a running stack; tests/devstack/test_upctl.py runs
the commands against one)."""
import argparse
import json

import pytest

from devstack.cli import DELEGATED, build_parser, main, subcommands

OWN = [s for s in subcommands() if s not in DELEGATED]


def test_the_subcommands_the_ecosystem_expects_exist():
    assert {"up", "down", "status", "logs", "invoke", "run", "render", "validate", "simulate",
            "bench", "dashboard", "build", "audit", "replay"} <= set(subcommands())


@pytest.mark.parametrize("sub", subcommands())
def test_help_of_every_subcommand(sub, capsys):
    with pytest.raises(SystemExit) as exit_:
        main([sub, "--help"])
    assert exit_.value.code == 0
    out = capsys.readouterr().out
    assert out.startswith("usage:")
    if sub in OWN:
        assert out.startswith(f"usage: faas-etl {sub}")


@pytest.mark.parametrize("sub", OWN)
def test_every_option_of_our_subcommands_says_what_it_does(sub):
    action = next(a for a in build_parser()._actions if isinstance(a, argparse._SubParsersAction))
    silent = [a.dest for a in action.choices[sub]._actions
              if not isinstance(a, argparse._HelpAction) and not a.help]
    assert silent == []


def test_top_level_help_lists_every_subcommand(capsys):
    with pytest.raises(SystemExit):
        main(["--help"])
    out = capsys.readouterr().out
    assert all(f"    {sub}" in out for sub in subcommands())


def test_status_json_without_a_running_stack(tmp_path, capsys):
    assert main(["status", "--json", "--run-dir", str(tmp_path)]) == 1
    doc = json.loads(capsys.readouterr().out)
    assert doc["running"] is False and "no running" in doc["message"]


def test_down_json_with_nothing_running_is_not_an_error(tmp_path, capsys):
    assert main(["down", "--json", "--run-dir", str(tmp_path)]) == 0
    assert json.loads(capsys.readouterr().out)["stopped"] is None


@pytest.mark.parametrize("sub", ["logs filter", "invoke filter --data {}"], ids=["logs", "invoke"])
def test_commands_that_need_a_running_stack_fail_clearly(sub, tmp_path, capsys):
    assert main([*sub.split(), "--run-dir", str(tmp_path)]) == 1
    assert "no running `faas-etl up`" in capsys.readouterr().err


def test_bench_lists_the_benchmarks(capsys):
    assert main(["bench", "--list"]) == 0
    assert "steps" in capsys.readouterr().out.split()


def test_a_bad_option_is_a_usage_error(capsys):
    with pytest.raises(SystemExit) as exit_:
        main(["status", "--no-such-option"])
    assert exit_.value.code == 2
