"""The hooks to the step library: the structural stand-in and how the real modules are found."""
from __future__ import annotations

import importlib
from types import SimpleNamespace

import pytest

from etlkit.workflow import step_hooks
from etlkit.workflow.step_hooks import StepLibraryValidator, StepValidator, condition_shape_problem


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


def _absent(*missing: str):
    real = importlib.import_module

    def import_module(name, *args):
        if name in missing:
            raise ModuleNotFoundError(f"No module named {name!r}", name=name)
        return real(name, *args)

    return import_module


def test_missing_step_library_falls_back_to_structural(monkeypatch):
    monkeypatch.setattr(importlib, "import_module", _absent("etlkit.steps", "etlkit.steps.registry"))

    assert isinstance(step_hooks.default_step_validator(), step_hooks.StructuralStepValidator)


def test_a_broken_step_library_is_not_hidden(monkeypatch):
    def broken(name, *args):
        raise ModuleNotFoundError("No module named 'lark'", name="lark")

    monkeypatch.setattr(importlib, "import_module", broken)

    with pytest.raises(ModuleNotFoundError, match="lark"):
        step_hooks.default_step_validator()


class _ConfigError(ValueError):
    def __init__(self, field: str, rule: str) -> None:
        super().__init__(f"{field}: {rule}")
        self.field, self.rule = field, rule


def _library(**problems: str) -> SimpleNamespace:
    """A step library as the adapter sees it: kinds, a parser that raises, its error type."""
    calls = []

    def parse_step(kind, params, condition, where):
        calls.append((kind, dict(params), condition, where))
        if kind in problems:
            field, rule = problems[kind].split(": ", 1)
            raise _ConfigError(field, rule)

    return SimpleNamespace(STEP_KINDS={"filter": 1, "map": 2}, parse_step=parse_step, ConfigError=_ConfigError, calls=calls)


def test_step_library_adapter_returns_the_library_errors_relative_to_the_step():
    library = _library(filter="condition: position 3: expected a value, found end of expression",
                       map="params.cast.amount: must be one of int, float")
    validator = StepLibraryValidator(library)

    assert isinstance(validator, StepValidator)
    assert validator.step_kinds() == ("filter", "map")
    assert validator.step_errors("filter", "a >", {}) == ["condition: position 3: expected a value, found end of expression"]
    assert validator.step_errors("map", None, {"cast": {"amount": "real"}}) == ["params.cast.amount: must be one of int, float"]
    assert library.calls == [("filter", {}, "a >", ""), ("map", {"cast": {"amount": "real"}}, None, "")]


def test_default_validator_adapts_the_real_step_library(monkeypatch):
    monkeypatch.setattr(importlib, "import_module", _absent("etlkit.steps.registry"))

    validator = step_hooks.default_step_validator()

    assert isinstance(validator, StepLibraryValidator)
    assert set(validator.step_kinds()) >= {"aggregate", "enrich", "filter", "map"}
    assert validator.step_errors("filter", "amount > (0", {})[0].startswith("condition: ")


def test_structural_validator_satisfies_the_protocol():
    assert isinstance(step_hooks.StructuralStepValidator(), StepValidator)
    assert isinstance(step_hooks.default_step_validator(), StepValidator)
