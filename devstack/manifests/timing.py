"""Go durations and time zones as the Argo Events controller parses them.

Cron schedules are checked by the project's one cron parser, :func:`etlkit.cron.cron_problem`:
a 6-field expression (with seconds) is rejected by the controller at runtime, long after
``kubectl apply`` said yes; that check says no first.
"""
from __future__ import annotations

import zoneinfo

from ..argo.gotime import parse_duration


def is_go_duration(text: str) -> bool:
    """True for what Go's ``time.ParseDuration`` accepts (``30s``, ``1m30s``, ``0``): the very
    parser the local runner uses, so the validator and the runner never disagree."""
    try:
        parse_duration(text)
    except ValueError:
        return False
    return True


def timezone_problem(name: str) -> str | None:
    """Why a time zone name would not load, or None. Needs the system's tz database."""
    try:
        zoneinfo.ZoneInfo(name)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError):
        return f"{name!r} is not a known IANA time zone"
    return None
