"""`python -m devstack.argo check` and the CLI's exit codes (no broker needed)."""
import json

from devstack.argo.cli import main

from . import factory


def test_check_prints_subscriptions_and_warnings(tmp_path, capsys):
    factory.write(tmp_path, factory.kafka_eventsource("src", "orders", "g"),
                  factory.sensor("a", "src", "orders", "fn", allow=None),
                  factory.sensor("b", "src", "orders", "fn"))
    assert main(["check", "--manifests", str(tmp_path)]) == 0
    report = json.loads(capsys.readouterr().out)
    assert [(s["sensor"], s["group"], s["triggers"]) for s in report["subscriptions"]] == \
        [("a", "g.a", ["a-call"]), ("b", "g.b", ["b-call"])]
    assert len(report["warnings"]) == 1 and "5xx" in report["warnings"][0]


def test_a_refused_manifest_exits_1_naming_the_file(tmp_path, capsys):
    factory.write(tmp_path, factory.sensor("a", "missing", "orders", "fn"))
    assert main(["check", "--manifests", str(tmp_path)]) == 1
    assert "sensors/a.yaml: spec.dependencies[0]: no EventSource 'missing'" in capsys.readouterr().err


def test_run_without_bootstrap_is_a_usage_error(tmp_path, monkeypatch, capsys):
    monkeypatch.delenv("KAFKA_BOOTSTRAP", raising=False)
    assert main(["run", "--manifests", str(tmp_path), "--bootstrap", ""]) == 2
    assert "--bootstrap" in capsys.readouterr().err


def test_run_without_gateway_credentials_exits_1(tmp_path, capsys):
    code = main(["run", "--manifests", str(tmp_path), "--bootstrap", "127.0.0.1:1",
                 "--secrets-dir", str(tmp_path / "none")])
    assert code == 1 and "credentials" in capsys.readouterr().err
