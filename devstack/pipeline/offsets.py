"""Backlog from offsets, as pure arithmetic (the Kafka reads are in :mod:`.kafka_edge`).

High watermarks must come from fetch responses: Tansu answers a "latest offset" request with the
start of the last producer batch, so lag measured from it reads as caught up too early
(docs: platform.md). A group that has committed nothing on a partition starts at the low
watermark (the runner's groups start at the oldest record).
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Mapping

# The controller measures backlog the same way; one definition of a partition's lag.
from etlkit.controller.measure import backlog, partition_lag

__all__ = ["GroupLag", "group_lag", "partition_lag"]


@dataclass(frozen=True)
class GroupLag:
    group: str
    topic: str
    lag: int
    committed: int  # records committed over the group's partitions
    high: int  # sum of the high watermarks

    @property
    def caught_up(self) -> bool:
        return self.lag == 0


def group_lag(group: str, topic: str, committed: Mapping[int, int | None],
              high: Mapping[int, int], low: Mapping[int, int] | None = None) -> GroupLag:
    """The group's lag over every partition of ``topic`` that ``high`` names."""
    low = low or {}
    lag = backlog(committed, high, low)
    done = sum(max(committed.get(p) or 0, low.get(p, 0)) for p in high)
    return GroupLag(group, topic, lag, done, sum(high.values()))
