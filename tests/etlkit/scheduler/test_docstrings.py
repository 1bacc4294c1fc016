"""The examples in the scheduler's docstrings run and still print what they show."""
import doctest

import pytest

import etlkit.scheduler
from etlkit.scheduler import exact, forecast, mincostflow, topology


@pytest.mark.parametrize("module", [etlkit.scheduler, exact, forecast, mincostflow, topology],
                         ids=lambda m: m.__name__)
def test_docstring_examples(module):
    result = doctest.testmod(module, optionflags=doctest.NORMALIZE_WHITESPACE)
    assert result.attempted > 0 and result.failed == 0
