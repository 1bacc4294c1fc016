"""Factories shared by the workflow tests: a small valid document each test can break one way."""
from __future__ import annotations

import copy
from typing import Any, Callable

import pytest

from etlkit.workflow.step_hooks import StructuralStepValidator

MINIMAL: dict[str, Any] = {
    "name": "shop",
    "description": "a small valid workflow",
    "sources": [
        {"name": "api", "kind": "http", "topic": "shop-raw", "key": "id"},
        {"name": "nightly", "kind": "sql", "topic": "shop-raw", "table": "orders", "cursor": "updated_at",
         "url": "env:SHOP_DB_URL", "interval": "30s", "key": "id"},
    ],
    "steps": [
        {"name": "paid", "kind": "filter", "condition": "amount > 0", "output": "shop-paid"},
        {"name": "tidy", "kind": "map", "output": "shop-tidy", "params": {"rename": {"amt": "amount"}}},
    ],
    "sink": {"table": "shop_orders", "key": "id"},
    "topics": {"shop-raw": {"partitions": 2}, "shop-paid": None, "shop-tidy": {}, "shop-dlq": {"partitions": 1}},
    "dead_letter": "shop-dlq",
}


@pytest.fixture
def make_doc() -> Callable[..., dict[str, Any]]:
    """A fresh deep copy of the minimal valid workflow, with top-level fields replaced by ``**changes``."""

    def make(**changes: Any) -> dict[str, Any]:
        doc = copy.deepcopy(MINIMAL)
        doc.update(copy.deepcopy(changes))
        return doc

    return make


@pytest.fixture
def structural() -> StructuralStepValidator:
    """The stand-in step validator, so these tests do not depend on etlkit.steps being present."""
    return StructuralStepValidator()
