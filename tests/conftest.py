"""Shared fixtures. Fixtures that start real components live in tests/fixtures/."""
import pathlib

import pytest
from hypothesis import settings

# How many examples a property test draws: the profile's max_examples, which also sets the budget
# of tests/fuzz (tests/fuzz/budget.py). Both profiles keep Hypothesis' own CI settings
# (derandomized, no deadline, no example database).
# "ci": `make test` (and Hypothesis' choice whenever CI is set), 100 examples: the suite's ten
# minutes on two cores are shared by everything. "long": `make test-long` (the nightly run),
# 300, the count `make test` gave before. `make fuzz` goes further (FAAS_ETL_FUZZ_EXAMPLES).
settings.register_profile("ci", settings.get_profile("ci"), max_examples=100)
settings.register_profile("long", settings.get_profile("ci"), max_examples=300)

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
