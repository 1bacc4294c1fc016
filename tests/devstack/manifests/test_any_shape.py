"""The validator reports, never crashes: any value anywhere in a document yields findings only."""
from __future__ import annotations

import copy
import pathlib
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from devstack.manifests import Checkers, build_catalog, validate_documents
from devstack.manifests.documents import Document, family_of
from devstack.manifests.validate import load_argo_schema

from .conftest import SCHEMA
from .example_repo import valid_files

FILES = valid_files()
VALUES = st.recursive(
    st.none() | st.booleans() | st.integers(-3, 70000) | st.text(max_size=8),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=8), inner,
                                                                max_size=3),
    max_leaves=8)


def _documents(files: dict) -> list[Document]:
    return [Document(name, index, body, family_of(pathlib.PurePosixPath(name), body))
            for name, bodies in files.items() for index, body in enumerate(bodies)]


def _paths(value: Any, prefix: tuple = ()) -> list[tuple]:
    """Every path to a value inside a document (the root excluded)."""
    children = (value.items() if isinstance(value, dict)
                else enumerate(value) if isinstance(value, list) else ())
    found = []
    for key, child in children:
        found.append((*prefix, key))
        found.extend(_paths(child, (*prefix, key)))
    return found


# () is the document itself.
TARGETS = [(name, path) for name, bodies in FILES.items() for path in [(), *_paths(bodies[0])]]


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(target=st.sampled_from(TARGETS), value=VALUES)
def test_any_value_at_any_path_gives_findings_not_a_crash(target, value):
    name, path = target
    files = copy.deepcopy(FILES)
    parent: Any = files[name]
    for key in (0, *path[:-1]):
        parent = parent[key]
    parent[(0, *path)[-1]] = value
    documents = _documents(files)
    checkers = Checkers(load_argo_schema(SCHEMA)[0], build_catalog(documents),
                        pathlib.Path("/nonexistent"))
    for finding in validate_documents(documents, checkers):
        assert finding.file in files and finding.rule
