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


@pytest.fixture
def assert_config_error() -> Callable[..., None]:
    """Check that ``parse(params)`` refuses with a ConfigError at ``field`` whose rule starts
    with ``rule``."""
    from etlkit.steps import ConfigError

    def check(parse: Callable[[Any], Any], params: Any, field: str, rule: str) -> None:
        with pytest.raises(ConfigError) as caught:
            parse(params)
        assert caught.value.field == field
        assert caught.value.rule.startswith(rule), caught.value.rule

    return check
