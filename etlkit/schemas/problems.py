"""The one shape of every schema problem: the field it is about and the rule it breaks."""
from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from ..outrecord import exact_json_text


@dataclass(frozen=True, order=True)
class FieldProblem:
    """``path`` of the field (``customer.items[2].sku``; empty for the whole record) and
    ``rule``, what is wrong there. Sorting orders problems by path."""

    path: str
    rule: str

    def __str__(self) -> str:
        return f"{self.path or '(record)'}: {self.rule}"


def shown_json(value: Any) -> str:
    """``value`` as JSON text for a problem's message (keys sorted, ``", "`` between items); a
    Decimal (a number a double cannot hold, etlkit.http) with its digits, by the exact writer."""
    try:
        return json.dumps(value, ensure_ascii=False, sort_keys=True)
    except TypeError:
        return exact_json_text(value, sort_keys=True, ensure_ascii=False)
