"""Shared fixtures. Fixtures that start real components live in tests/fixtures/."""
import pathlib

import pytest

REPO = pathlib.Path(__file__).resolve().parent.parent
SHARED = REPO.parent / "shared"

pytest_plugins = ["tests.fixtures.localstack", "tests.fixtures.postgres", "tests.fixtures.state",
                  "tests.fixtures.http_files",
                  "tests.fixtures.kafka",
                  "tests.fixtures.realargo"]


@pytest.fixture(scope="session")
def repo_root() -> pathlib.Path:
    return REPO


def pytest_collection_modifyitems(items):
    """Modules marked ``slow`` run first, every other order kept (a stable sort, whole modules).

    ``make test`` spreads whole files over two workers (pytest-xdist ``--dist loadfile
    --no-loadscope-reorder``), handed out in this order as workers free up. The two-minute
    autoscaler end to end and the chaos run then start at once instead of last, where one worker
    would run them alone while the other sat idle.
    """
    slow = {item.path for item in items if item.get_closest_marker("slow")}
    items.sort(key=lambda item: item.path not in slow)
