"""The hooks to the step library: the structural stand-in and how the real modules are found."""
from __future__ import annotations

import importlib

import pytest

from etlkit.workflow import step_hooks
from etlkit.workflow.step_hooks import StepValidator, condition_shape_problem


@pytest.mark.parametrize(
    "text, expected",
    [
        pytest.param("amount > 0 and status in ['paid', 'shipped']", None, id="valid"),
        pytest.param("name == 'a (b'", None, id="bracket-inside-string"),
        pytest.param(r"name == 'it\'s'", None, id="escaped-quote"),
        pytest.param("   ", "must not be blank", id="blank"),
        pytest.param("(a > 1]", "unexpected ']' at position 6", id="mismatched-bracket"),
        pytest.param("a > 1)", "unexpected ')' at position 5", id="stray-closer"),
        pytest.param("x in [1, 2", "unclosed '[' opened at position 5", id="unclosed-list"),
        pytest.param('s == "abc', 'unclosed " quote opened at position 5', id="unclosed-double-quote"),
    ],
)
def test_condition_shape(text, expected):
    assert condition_shape_problem(text) == expected


def test_missing_step_library_falls_back_to_structural(monkeypatch):
    real = importlib.import_module

    def absent(name, *args):
        if name.startswith("etlkit.steps.registry") or name.startswith("etlkit.steps.conditions"):
            raise ModuleNotFoundError(f"No module named {name!r}", name=name)
        return real(name, *args)

    monkeypatch.setattr(importlib, "import_module", absent)

    assert isinstance(step_hooks.default_step_validator(), step_hooks.StructuralStepValidator)
    assert step_hooks.default_pushdown() is None


def test_a_broken_step_library_is_not_hidden(monkeypatch):
    def broken(name, *args):
        raise ModuleNotFoundError("No module named 'lark'", name="lark")

    monkeypatch.setattr(importlib, "import_module", broken)

    with pytest.raises(ModuleNotFoundError, match="lark"):
        step_hooks.default_step_validator()


def test_structural_validator_satisfies_the_protocol():
    assert isinstance(step_hooks.StructuralStepValidator(), StepValidator)
    assert isinstance(step_hooks.default_step_validator(), StepValidator)
