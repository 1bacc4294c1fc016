"""`faas-etl chaos`: options become a validated config; a bad one is a usage error naming it."""
import pytest

from devstack.chaos.cli import build_parser, config_of, main
from devstack.cli import main as faas_etl


def test_the_defaults_are_the_five_minute_run_with_every_fault():
    config = config_of(build_parser().parse_args([]))
    assert config.duration_s == 300 and len(config.faults) == 5


def test_options_reach_the_config():
    config = config_of(build_parser().parse_args(
        ["--duration", "60", "--faults", "pause-broker, restart-gateway", "--writers", "2",
         "--pause-s", "3", "--replicas", "1"]))
    assert config.faults == ("pause-broker", "restart-gateway")
    assert (config.duration_s, config.writers, config.pause_s, config.replicas) == (60, 2, 3, 1)
    assert config_of(build_parser().parse_args(["--faults", "none"])).faults == ()


def test_an_unknown_fault_is_a_usage_error_naming_it(capsys):
    with pytest.raises(SystemExit) as exit_:
        main(["--faults", "kill-datacenter"])
    assert exit_.value.code == 2
    assert "faults: unknown fault 'kill-datacenter'" in capsys.readouterr().err


def test_it_is_a_faas_etl_subcommand(capsys):
    with pytest.raises(SystemExit) as exit_:
        faas_etl(["chaos", "--help"])
    assert exit_.value.code == 0
    out = capsys.readouterr().out
    assert out.startswith("usage: faas-etl chaos") and "pause-broker" in out
