"""The registry's docstring example runs and still prints what it shows."""
import doctest

from etlkit.schemas import registry


def test_docstring_examples():
    result = doctest.testmod(registry)
    assert result.attempted > 0 and result.failed == 0
