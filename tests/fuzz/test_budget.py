"""The property tests' budget follows the Hypothesis profile each `make` target loads
(tests/conftest.py registers them): fewer examples in `make test`, the full count nightly."""
import re

from hypothesis import settings

from . import budget


def test_each_profile_sets_the_budget_and_the_environment_overrides_it(monkeypatch):
    monkeypatch.delenv("FAAS_ETL_FUZZ_EXAMPLES", raising=False)
    assert budget.examples(settings.get_profile("ci")) == 100
    assert budget.examples(settings.get_profile("long")) == 300
    for name in ("ci", "long"):  # Hypothesis' CI settings kept: the same examples every run
        profile = settings.get_profile(name)
        assert profile.derandomize and profile.deadline is None and profile.database is None
    monkeypatch.setenv("FAAS_ETL_FUZZ_EXAMPLES", "40")  # `make fuzz`
    assert budget.examples(settings.get_profile("ci")) == 40
    assert budget.fuzz(2).max_examples == 80 and budget.fuzz(0.1).max_examples == 10


def _recipe(makefile: str, target: str) -> str:
    match = re.search(rf"^{re.escape(target)}:.*\n((?:\t.*\n)+)", makefile, re.M)
    assert match, f"no target {target} in the Makefile"
    return match.group(1)


def test_make_test_loads_ci_and_the_nightly_targets_load_long(repo_root):
    makefile = (repo_root / "Makefile").read_text()
    assert "--hypothesis-profile=ci" in _recipe(makefile, "test")
    long = _recipe(makefile, "test-long")
    assert re.search(r"--hypothesis-profile=long .*tests/fuzz", long), long
    assert "--hypothesis-profile=long" in _recipe(makefile, "fuzz")
