"""The command line: one finding per line, exit 1 when any, 0 when clean, 2 on misuse."""
from __future__ import annotations

import pathlib
import subprocess
import sys

from devstack.manifests.cli import main

from .conftest import REPO
from .example_repo import write_repo

SENSOR = "argo-events/sensor-orders.yaml"


def _repo(tmp_path: pathlib.Path, files) -> pathlib.Path:
    return write_repo(tmp_path / "repo", files)


def test_clean_repository_exits_0(files, tmp_path, capsys):
    root = _repo(tmp_path, files)
    assert main(["validate", "--repo-root", str(root)]) == 0
    captured = capsys.readouterr()
    assert captured.out == ""
    assert f"0 finding(s) in {len(files)} file(s)" in captured.err


def test_findings_print_one_per_line_and_exit_1(files, tmp_path, capsys):
    trigger = files[SENSOR][0]["spec"]["triggers"][0]
    trigger["template"]["http"]["method"] = "SEND"
    trigger.pop("policy")
    root = _repo(tmp_path, files)
    assert main(["validate", "--repo-root", str(root), str(root / SENSOR)]) == 1
    lines = capsys.readouterr().out.splitlines()
    assert lines == [
        f"{SENSOR}[0] spec.triggers[0].policy.status.allow: an HTTP trigger must list the status "
        "codes that count as success (without it a 5xx counts as success)",
        f"{SENSOR}[0] spec.triggers[0].template.http.method: must be one of GET, DELETE, PATCH, "
        "POST, PUT",
    ]


def test_a_folder_argument_validates_the_yaml_below_it(files, tmp_path, capsys):
    files["k8s/kafka/kafka.yaml"][0]["spec"]["kafka"]["listeners"][0]["type"] = "internel"
    root = _repo(tmp_path, files)
    assert main(["validate", "--repo-root", str(root), str(root / "k8s")]) == 1
    out = capsys.readouterr().out
    assert "k8s/kafka/kafka.yaml[0] spec.kafka.listeners[0].type: must be one of" in out
    assert SENSOR not in out


def test_yaml_that_does_not_load_is_a_finding(files, tmp_path, capsys):
    root = _repo(tmp_path, files)
    (root / "k8s" / "broken.yaml").write_text("a: [1, 2\n")
    assert main(["validate", "--repo-root", str(root)]) == 1
    assert "k8s/broken.yaml[0] <document>: does not load as YAML" in capsys.readouterr().out


def test_missing_path_is_misuse(tmp_path, capsys):
    assert main(["validate", str(tmp_path / "nope.yaml")]) == 2
    assert "no such file or folder" in capsys.readouterr().err


def test_unsupported_kubernetes_version_is_misuse(files, tmp_path, capsys):
    root = _repo(tmp_path, files)
    assert main(["validate", "--repo-root", str(root), "--kubernetes-version", "1.9"]) == 2
    assert "no schemas for Kubernetes 1.9" in capsys.readouterr().err


def test_module_entry_point_runs_on_this_repository():
    """``python -m devstack.manifests validate k8s`` works from a checkout (the lead's wiring)."""
    result = subprocess.run([sys.executable, "-m", "devstack.manifests", "validate",
                             str(REPO / "k8s" / "rbac")],
                            cwd=REPO, capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stdout + result.stderr
    files = len(list((REPO / "k8s" / "rbac").glob("*.yaml")))
    assert f"0 finding(s) in {files} file(s)" in result.stderr
