"""The ``filter`` step: keep the records whose condition is true.

In a workflow the condition is the step's ``condition``; as params it is
``{"condition": "<expression>"}``. False: filtered. A record the condition cannot decide
(a type error, a null where a bool is needed): dead letter with the evaluator's reason.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Mapping, Sequence

from .config import ConfigReader
from .expressions import Condition, compile_condition
from .outcome import StepOutcome, run_per_record
from .record import Record


@dataclass(frozen=True)
class FilterConfig:
    condition: Condition

    @classmethod
    def from_dict(cls, params: Mapping[str, Any], where: str = "params") -> "FilterConfig":
        """Parse and compile ``params``; :class:`ConfigError` names the field and rule."""
        reader = ConfigReader(params, where)
        condition = reader.compiled("condition", compile_condition)
        reader.finish()
        return cls(condition)

    @classmethod
    def from_condition(cls, text: Any, where: str = "condition") -> "FilterConfig":
        """The config of a workflow filter step, whose condition is the step's own field."""
        return cls(ConfigReader({}, where).compiled("", compile_condition, where, text))


def run_filter(config: FilterConfig, records: Sequence[Record], *, step: str,
               now_ms: int) -> StepOutcome:
    """Apply the filter to a batch."""
    test = config.condition.test

    def keep(record: Record) -> Record | None:
        return record if test(record.value, record) else None

    return run_per_record(records, step, now_ms, keep)
