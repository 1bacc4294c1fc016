"""The layout of k8s/: one resource per file, and a README that names every area."""
from __future__ import annotations

import pytest

from devstack.manifests import load_file

from .conftest import REPO

K8S = REPO / "k8s"
MANIFESTS = sorted(p.relative_to(REPO).as_posix() for p in K8S.rglob("*.yaml"))
AREAS = sorted(p.name for p in K8S.iterdir() if p.is_dir())


@pytest.mark.parametrize("relative", MANIFESTS)
def test_one_resource_per_file(relative):
    documents, problems = load_file(REPO / relative, REPO)
    assert problems == [] and len(documents) == 1


@pytest.mark.parametrize("area", AREAS)
def test_readme_names_every_area(area):
    assert f"`{area}/`" in (K8S / "README.md").read_text(encoding="utf-8")
