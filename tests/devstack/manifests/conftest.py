"""Fixtures: a fresh valid example repository, and a runner that validates a (broken) copy."""
from __future__ import annotations

import itertools
import pathlib
from typing import Callable

import pytest

from devstack.manifests import Report, validate_paths
from devstack.manifests.argo_schema import default_schema_path

from .example_repo import Files, valid_files, write_repo

REPO = pathlib.Path(__file__).resolve().parents[3]
SCHEMA = default_schema_path(REPO)
needs_schema = pytest.mark.skipif(not SCHEMA.exists(),
                                  reason=f"Argo Events JSON schema absent ({SCHEMA})")


@pytest.fixture
def files() -> Files:
    """The valid example repository, as data a test may break."""
    return valid_files()


@pytest.fixture
def validate_repo(tmp_path: pathlib.Path) -> Callable[..., Report]:
    """Write files to a new folder and validate all of it."""
    counter = itertools.count()

    def run(files: Files, argo_schema: pathlib.Path = SCHEMA) -> Report:
        root = write_repo(tmp_path / f"repo{next(counter)}", files)
        return validate_paths(repo_root=root, argo_schema_path=argo_schema)
    return run


def assert_named(report: Report, file: str, path: str, rule: str) -> None:
    """The report holds a finding of exactly this file and path whose rule contains ``rule``."""
    found = [f for f in report.findings if f.file == file and f.path == path and rule in f.rule]
    assert found, (f"expected {file} {path}: ...{rule}...; got:\n"
                   + "\n".join(map(str, report.findings)))
