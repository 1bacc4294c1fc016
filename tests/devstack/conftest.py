"""Fixtures shared by the devstack tests that ask Argo Events' own code."""
from __future__ import annotations

import os

import pytest

from devstack.argo.oracle import Oracle, ToolMissing


@pytest.fixture(scope="module")
def oracle():
    """One ``argo-conformance`` process per module (``devstack.argo.oracle``). Without the
    binary the test skips, unless ``CI`` is set: then it fails naming what is missing."""
    try:
        started = Oracle.start()
    except ToolMissing as exc:
        if os.environ.get("CI"):
            pytest.fail(f"CI is set and the Argo Events conformance oracle is missing: {exc}")
        pytest.skip(f"Argo Events conformance oracle missing: {exc}")
    with started:
        yield started
