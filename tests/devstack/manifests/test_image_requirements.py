"""Every function's image resolves every import its code makes (issue 16 item 9).

faas-cli (openfaas/faas-cli ``builder/build.go``, shrinkwrap) puts into a function's build
context only ``template/<lang>/``, the handler folder and ``configuration.copy``; the template's
Dockerfile installs ``requirements.txt`` of the template, then of the handler. So a module the
code imports that neither file pins is an ImportError in the cluster, though the development
virtualenv (which holds every package) runs it fine. Found on this rule: ingest, schema-registry,
metrics-collector and workflow-manager keep their state on PostgreSQL (STATE_URL) without psycopg.
"""
from __future__ import annotations

import dataclasses
import pathlib

import pytest

from devstack.manifests.image_requirements import (dockerfile_python, image_problems, pinned,
                                                   pip_download_args, third_party_imports)
from devstack.stackfile import load_stack

REPO = pathlib.Path(__file__).resolve().parents[3]
STACK = load_stack(REPO / "stack.yml")


@pytest.mark.parametrize("name", sorted(STACK.functions))
def test_every_import_of_the_image_is_pinned(name):
    assert image_problems(STACK, STACK.functions[name]) == []


def test_a_postgresql_url_needs_psycopg_and_names_the_file_that_lacks_it():
    ingest = STACK.functions["ingest"]
    assert pinned(REPO / ingest.handler / "requirements.txt")["psycopg"] == "3.3.9"
    bare = dataclasses.replace(ingest, handler="./functions/file-source")  # pins no psycopg
    on_sqlite = dataclasses.replace(bare, environment={**bare.environment, "STATE_URL": "sqlite:////tmp/s.db"})
    on_postgres = dataclasses.replace(bare, environment={**bare.environment,
                                                         "STATE_URL": "postgresql://u@h:5432/state"})
    assert not any("psycopg" in p for p in image_problems(STACK, on_sqlite))
    (problem,) = [p for p in image_problems(STACK, on_postgres) if "psycopg" in p]
    assert "lazily, which its environment selects" in problem and "functions/file-source/requirements.txt" in problem


def test_an_import_with_a_fallback_is_optional_and_a_plain_one_is_not(tmp_path):
    handler = tmp_path / "fn"
    handler.mkdir()
    (handler / "handler.py").write_text(
        "try:\n    import orjson\nexcept ImportError:\n    orjson = None\nimport yaml\n"
        "def later():\n    import numpy\n")
    found = {(i.module, i.lazy) for i in third_party_imports(handler, tmp_path, frozenset())}
    assert found == {("yaml", False), ("numpy", True)}


def test_an_unpinned_line_is_a_problem(tmp_path, monkeypatch):
    handler = tmp_path / "functions" / "f"
    handler.mkdir(parents=True)
    (handler / "handler.py").write_text("import yaml\n")
    (handler / "requirements.txt").write_text("pyyaml>=6\n")
    (tmp_path / "template" / "python3-etl").mkdir(parents=True)
    stack = dataclasses.replace(STACK, path=tmp_path / "stack.yml", copy=())
    fn = dataclasses.replace(STACK.functions["map"], handler="./functions/f", environment={})
    problems = image_problems(stack, fn)
    assert any("'pyyaml>=6' pins no exact version" in p for p in problems)
    assert any("imports yaml" in p and "pins pyyaml" in p for p in problems)


def test_make_image_check_asks_for_wheels_of_the_base_images_python_and_glibc():
    version = dockerfile_python(REPO / "template" / "python3-etl" / "Dockerfile")
    assert version == "3.11"
    args = pip_download_args(version, [REPO / "template" / "python3-etl" / "requirements.txt"], pathlib.Path("/x"))
    assert args[args.index("--python-version") + 1] == "3.11" and "--only-binary=:all:" in args
    platforms = [args[i + 1] for i, a in enumerate(args) if a == "--platform"]
    # python:3.11-slim-bookworm: Debian 12, glibc 2.36; manylinux2014 is glibc 2.17
    assert platforms[0] == "manylinux_2_36_x86_64" and "manylinux_2_17_x86_64" in platforms
    assert "manylinux_2_37_x86_64" not in platforms
