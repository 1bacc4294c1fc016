"""Shared fixtures. Fixtures that start real components live in tests/fixtures/."""
import pathlib

import pytest

REPO = pathlib.Path(__file__).resolve().parent.parent
SHARED = REPO.parent / "shared"

pytest_plugins = ["tests.fixtures.localstack", "tests.fixtures.postgres"]


@pytest.fixture(scope="session")
def repo_root() -> pathlib.Path:
    return REPO
