"""When a calendar EventSource fires: a cron ``schedule`` or an ``interval``.

The schedule is the project's one cron parser, :mod:`etlkit.cron` (robfig/cron's standard parser,
as Argo's calendar source uses it), re-exported here for the runner. The renderer writes
``timezone: "UTC"`` beside a schedule (:mod:`.manifests` refuses any other zone), so it is
evaluated in UTC. Argo reads ``interval`` as ``cron.ConstantDelaySchedule``
(``pkg/eventsources/sources/calendar``): it fires ``interval`` after the last fire, counted from the
whole second.

Pure: every function takes the time to start from.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from etlkit.cron import CronSchedule, parse_cron

from .gotime import parse_duration

__all__ = ["CronSchedule", "IntervalSchedule", "parse_cron", "parse_interval"]


@dataclass(frozen=True)
class IntervalSchedule:
    delay_ns: int

    def next_after(self, t: datetime) -> datetime:
        # robfig's ConstantDelaySchedule: drop the fraction of a second, add the delay.
        return t.replace(microsecond=0) + timedelta(microseconds=self.delay_ns // 1000)


def parse_interval(text: str) -> IntervalSchedule:
    delay = parse_duration(text)
    if delay <= 0:
        raise ValueError(f"interval {text!r}: must be positive")
    return IntervalSchedule(delay)
