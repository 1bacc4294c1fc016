"""When a bounded input's last aggregate windows close (pure).

An aggregate emits a window only once its watermark (the newest event time seen minus the
allowed lateness) reaches the window's end (:mod:`etlkit.steps.windows`). A finite sample never
gets there by itself: the last windows would stay open forever. One more record, stamped late
enough, closes them all; its own window stays open (and is counted as open in the books).
"""
from __future__ import annotations

from typing import Any, Iterable, Mapping

from etlkit.steps.aggregation import AggregateConfig
from etlkit.steps.casts import to_timestamp_ms
from etlkit.steps.failures import RecordError


def closing_time(newest_event_ms: int, window_ms: int, allowed_lateness_ms: int) -> int:
    """The earliest event time whose record closes every window holding ``newest_event_ms``."""
    window_end = newest_event_ms - newest_event_ms % window_ms + window_ms
    return window_end + allowed_lateness_ms


def newest_event(values: Iterable[Any], headers: Iterable[Mapping[str, str]],
                 config: AggregateConfig) -> int | None:
    """The newest event time among an aggregate's input records (its ``time_field``, else the
    ``etl-event-time`` header); records without a readable time are skipped (the step
    dead-letters those)."""
    newest = None
    for value, header in zip(values, headers):
        raw: Any = header.get("etl-event-time")
        if config.time_field is not None:
            raw = value
            for part in config.time_field:
                raw = raw.get(part) if isinstance(raw, dict) else None
        if raw is None:
            continue
        try:
            moment = to_timestamp_ms(raw)
        except RecordError:
            continue
        if moment is not None and (newest is None or moment > newest):
            newest = moment
    return newest
