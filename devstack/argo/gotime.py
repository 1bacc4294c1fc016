"""Go's durations and time texts: ``time.ParseDuration``, ``Time.String()``, RFC 3339.

Argo puts ``Time.String()`` into event data (the Kafka ``timestamp``, the calendar ``eventTime``)
and takes durations in Go syntax (``retryStrategy.duration``, calendar ``interval``). Pure.
"""
from __future__ import annotations

import re
from datetime import datetime, timedelta, timezone

_UNITS = {"ns": 1, "us": 1_000, "µs": 1_000, "μs": 1_000, "ms": 1_000_000, "s": 1_000_000_000,
          "m": 60_000_000_000, "h": 3_600_000_000_000}
_PART = re.compile(r"(\d*)(?:\.(\d*))?(ns|us|µs|μs|ms|s|m|h)")


def parse_duration(text: str) -> int:
    """Nanoseconds of a Go duration (``1m30s``, ``1.5s``, ``300ms``, ``0``); ``ValueError`` else."""
    if not isinstance(text, str) or not text:
        raise ValueError(f'time: invalid duration "{text}"')
    body, sign = text, 1
    if body[0] in "+-":
        sign, body = (-1 if body[0] == "-" else 1), body[1:]
    if body == "0":
        return 0
    total, pos = 0, 0
    while pos < len(body):
        match = _PART.match(body, pos)
        if not match or not (match.group(1) or match.group(2)):
            raise ValueError(f'time: invalid duration "{text}"')
        whole, frac, unit = match.group(1) or "0", match.group(2) or "", match.group(3)
        scale = _UNITS[unit]
        total += int(whole) * scale + (int(frac) * scale // 10 ** len(frac) if frac else 0)
        pos = match.end()
    if not body:
        raise ValueError(f'time: invalid duration "{text}"')
    return sign * total


def _offset(dt: datetime) -> str:
    minutes = int(dt.utcoffset().total_seconds()) // 60
    sign = "-" if minutes < 0 else "+"
    return f"{sign}{abs(minutes) // 60:02d}{abs(minutes) % 60:02d}"


def go_time_string(dt: datetime) -> str:
    """``Time.String()``: ``2006-01-02 15:04:05.999999999 -0700 MST`` (fraction trimmed).

    Python keeps microseconds, which covers Kafka's millisecond timestamps exactly.
    """
    if dt.tzinfo is None:
        raise ValueError("go_time_string needs an aware datetime")
    fraction = f".{dt.microsecond:06d}".rstrip("0") if dt.microsecond else ""
    return f"{dt:%Y-%m-%d %H:%M:%S}{fraction} {_offset(dt)} {dt.tzname()}"


_CLOCKS: dict[int, str] = {}  # epoch second -> "2006-01-02 15:04:05" in UTC
_CLOCKS_MAX = 4096
# What follows the clock for each millisecond, as Go trims it: "", ".1", ".12", ".123" (+ zone).
_UTC_FRACTIONS = tuple((f".{ms:03d}".rstrip("0") if ms else "") + " +0000 UTC" for ms in range(1000))


def utc_time_string_of_ms(ms: int) -> str:
    """``go_time_string(from_epoch_ms(ms))``, a few times faster: a Kafka timestamp in every event.

    The date and clock of each second are formatted once (a small cache: a partition's
    timestamps rarely jump around), the milliseconds are appended as Go trims them.
    """
    seconds, millis = divmod(ms, 1000)
    clock = _CLOCKS.get(seconds)
    if clock is None:
        if len(_CLOCKS) >= _CLOCKS_MAX:
            _CLOCKS.clear()
        clock = _CLOCKS[seconds] = f"{from_epoch_ms(seconds * 1000):%Y-%m-%d %H:%M:%S}"
    return clock + _UTC_FRACTIONS[millis]


def from_epoch_ms(ms: int, tz: timezone = timezone.utc) -> datetime:
    """A Kafka timestamp (epoch milliseconds) as an aware datetime, exactly (no float rounding)."""
    return datetime(1970, 1, 1, tzinfo=timezone.utc).astimezone(tz) + timedelta(milliseconds=ms)


def rfc3339(dt: datetime) -> str:
    """``metav1.Time`` in JSON: RFC 3339 in UTC, whole seconds (``2006-01-02T15:04:05Z``)."""
    return dt.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")
