"""Durations as people write them in a workflow (``250ms``, ``30s``, ``7d``) and as Go parses them.

Workflows say ``30s`` rather than a bare number so a reader never has to guess the unit; Argo
Events wants Go duration text (``time.ParseDuration``: no ``d`` unit), so both directions live here.
The one rule for every duration a workflow holds: its own fields (``timeout``, ``interval``)
and its steps' params (``window``, ``allowed_lateness``, ``refresh``) alike (issue 17, item 8:
a step used to read ``window: 30`` as 30 s where the workflow refused ``timeout: 30``).
"""
from __future__ import annotations

import re

_UNIT_MS = {"ms": 1, "s": 1_000, "m": 60_000, "h": 3_600_000, "d": 86_400_000}
_DURATION = re.compile(r"^([0-9]+)(ms|s|m|h|d)$")
DURATION_RULE = "expected a duration like '30s' (a whole number with unit ms, s, m, h or d)"


def parse_duration_ms(text: object) -> int:
    """``'1m'`` -> ``60000``. Raise ``ValueError`` (with :data:`DURATION_RULE`) for anything else.

    A bare number is refused on purpose: ``timeout: 30`` could mean seconds or milliseconds.
    """
    match = _DURATION.match(text) if isinstance(text, str) else None
    if match is None:
        raise ValueError(DURATION_RULE)
    return int(match.group(1)) * _UNIT_MS[match.group(2)]


def _in_largest_unit(ms: int, units: tuple[str, ...]) -> str:
    if ms < 0:
        raise ValueError(f"duration must not be negative, got {ms} ms")
    for unit in units:
        if ms and ms % _UNIT_MS[unit] == 0:
            return f"{ms // _UNIT_MS[unit]}{unit}"
    return f"{ms}ms"


def go_duration(ms: int) -> str:
    """Milliseconds as the shortest exact Go duration text: ``90000`` -> ``'90s'``, ``7200000`` -> ``'2h'``."""
    return _in_largest_unit(ms, ("h", "m", "s"))


def duration_text(ms: int) -> str:
    """Milliseconds as a workflow would write them: ``604800000`` -> ``'7d'`` (inverse of parse)."""
    return _in_largest_unit(ms, ("d", "h", "m", "s"))
