"""Factories shared by the step tests."""
from __future__ import annotations

from typing import Any, Callable

import pytest

from etlkit.steps import EVENT_TIME_HEADER, Record


@pytest.fixture
def make_record() -> Callable[..., Record]:
    """A record with ``value``; ``at`` (epoch ms) sets the etl-event-time header."""

    def make(value: dict[str, Any], *, at: int | None = None, **meta: Any) -> Record:
        headers = dict(meta.pop("headers", {}))
        if at is not None:
            headers[EVENT_TIME_HEADER] = str(at)
        return Record(value=value, headers=headers, **meta)

    return make
