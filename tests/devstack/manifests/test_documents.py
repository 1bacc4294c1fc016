"""Discovery of the repository's YAML files and the family each document belongs to."""
from __future__ import annotations

import pathlib
import subprocess

import pytest

from devstack.manifests.documents import Family, discover, family_of, load_file


@pytest.mark.parametrize(("relative", "body", "family"), [
    pytest.param("stack.yml", {"functions": {}}, Family.STACK, id="top-level-stack-file"),
    pytest.param("examples/stack.yml", {"a": 1}, Family.PLAIN, id="nested-stack-file-is-plain"),
    pytest.param("workflows/orders.yaml", {"apiVersion": "v1", "kind": "X"}, Family.WORKFLOW,
                 id="workflow"),
    pytest.param("a.yaml", {"apiVersion": "argoproj.io/v1alpha1", "kind": "Sensor"}, Family.ARGO,
                 id="argo"),
    pytest.param("a.yaml", {"apiVersion": "kafka.strimzi.io/v1", "kind": "Kafka"},
                 Family.STRIMZI, id="strimzi"),
    pytest.param("a.yaml", {"apiVersion": "v1", "kind": "Service"}, Family.KUBERNETES,
                 id="core-group"),
    pytest.param("a.yaml", {"apiVersion": "networking.k8s.io/v1", "kind": "NetworkPolicy"},
                 Family.KUBERNETES, id="k8s-io-group"),
    pytest.param("a.yaml", {"apiVersion": "cert-manager.io/v1", "kind": "Certificate"},
                 Family.UNKNOWN_KIND, id="other-crd"),
    pytest.param("a.yaml", {"name": "x"}, Family.PLAIN, id="no-api-version"),
    pytest.param("a.yaml", ["a", "list"], Family.PLAIN, id="not-a-mapping"),
])
def test_family_of(relative, body, family):
    assert family_of(pathlib.PurePosixPath(relative), body) is family


def _git(root: pathlib.Path, *args: str) -> None:
    subprocess.run(["git", "-C", str(root), *args], check=True, capture_output=True)


def test_discover_uses_git_listing_and_skips_generated_folders(tmp_path):
    for name in ("k8s/a.yaml", "new.yml", "ignored.yaml", ".venv/x.yaml", "build/f/y.yaml",
                 ".run/z.yaml", "notes.txt"):
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / name).write_text("a: 1\n")
    (tmp_path / ".gitignore").write_text("ignored.yaml\n")
    _git(tmp_path, "init", "-q")
    _git(tmp_path, "add", "k8s/a.yaml", ".venv/x.yaml")
    found = [p.relative_to(tmp_path).as_posix() for p in discover(tmp_path)]
    assert found == ["k8s/a.yaml", "new.yml"]


def test_discover_walks_folders_outside_git(tmp_path):
    (tmp_path / "build").mkdir()
    (tmp_path / "build" / "b.yaml").write_text("a: 1\n")
    (tmp_path / "c.yaml").write_text("a: 1\n")
    assert discover(tmp_path) == [tmp_path / "c.yaml"]


def test_empty_documents_keep_their_index(tmp_path):
    (tmp_path / "m.yaml").write_text("a: 1\n---\n---\nb: 2\n")
    documents, problems = load_file(tmp_path / "m.yaml", tmp_path)
    assert problems == []
    assert [(d.file, d.index, d.body) for d in documents] == [("m.yaml", 0, {"a": 1}),
                                                              ("m.yaml", 2, {"b": 2})]


def test_a_file_that_is_not_utf8_is_a_finding_not_a_crash(tmp_path):
    (tmp_path / "latin1.yaml").write_bytes("name: caf\xe9\n".encode("latin-1"))
    documents, problems = load_file(tmp_path / "latin1.yaml", tmp_path)
    assert documents == [] and "cannot be read" in problems[0].rule
