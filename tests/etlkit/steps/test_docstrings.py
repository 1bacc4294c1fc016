"""The examples in the step library's docstrings run and still print what they show."""
import doctest

import pytest

from etlkit.steps import expressions, registry


@pytest.mark.parametrize("module", [expressions, registry], ids=lambda m: m.__name__)
def test_docstring_examples(module):
    result = doctest.testmod(module, optionflags=doctest.NORMALIZE_WHITESPACE)
    assert result.attempted > 0 and result.failed == 0
