"""What one collection round read from the public APIs: plain, frozen data (no clients)."""
from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from etlkit.controller.measure import partition_lag

# Parsed Prometheus samples: {(name, sorted label pairs): value} (etlkit.controller.measure).
Samples = Mapping[tuple[str, tuple[tuple[str, str], ...]], float]


@dataclass(frozen=True)
class Instance:
    """One replica of a function, where it runs."""

    id: str
    node: str
    ready: bool = True
    port: int | None = None  # the local gateway's workers listen on loopback ports


@dataclass(frozen=True)
class FunctionState:
    """A deployed function as the gateway lists it."""

    name: str
    replicas: int  # desired
    available: int
    instances: tuple[Instance, ...] = ()


@dataclass(frozen=True)
class TopicState:
    """A topic's offsets per partition, and each watching consumer group's commits."""

    name: str
    high: Mapping[int, int]  # partition -> high watermark (from fetch responses)
    low: Mapping[int, int] = field(default_factory=dict)
    committed: Mapping[str, Mapping[int, int | None]] = field(default_factory=dict)

    @property
    def records(self) -> int:
        """Records ever produced to the topic (what its producers' rate is measured on)."""
        return sum(self.high.values())

    def partition_lag(self, group: str, partition: int) -> int:
        """Records of ``partition`` that ``group`` has not committed past. A group with no
        commit starts at the low watermark (the runner's groups read from the oldest record)."""
        return partition_lag(self.committed.get(group, {}).get(partition),
                             self.high[partition], self.low.get(partition, 0))

    def lag(self, group: str) -> int:
        return sum(self.partition_lag(group, p) for p in self.high)


@dataclass(frozen=True)
class StepRef:
    """A step of a watched workflow: which function runs it and which topic feeds it."""

    workflow: str
    name: str
    kind: str
    function: str
    inputs: tuple[str, ...]
    output: str | None


@dataclass(frozen=True)
class WatchedWorkflow:
    """One watched workflow's own parts, so a reader can show it whole (status, the page)."""

    name: str
    topics: tuple[str, ...]
    table: str
    started_by: str = ""  # "up -w", "workflow-manager" (devstack.running_workflows); "" unknown
    state: str = ""


@dataclass(frozen=True)
class WatchList:
    """What to look at: from the workflow definitions (public configuration)."""

    workflows: tuple[str, ...] = ()
    topics: tuple[str, ...] = ()  # empty: every topic the broker lists
    groups: Mapping[str, tuple[str, ...]] = field(default_factory=dict)  # topic -> groups
    steps: tuple[StepRef, ...] = ()
    tables: tuple[str, ...] = ()
    dead_letter_topics: tuple[str, ...] = ()
    members: tuple[WatchedWorkflow, ...] = ()


@dataclass(frozen=True)
class Scrape:
    """One round. A source that did not answer leaves its part empty and says why in ``errors``."""

    at: float
    functions: tuple[FunctionState, ...] = ()
    gateway: Samples = field(default_factory=dict)
    replicas: Mapping[str, Samples] = field(default_factory=dict)  # instance id -> its samples
    topics: Mapping[str, TopicState] = field(default_factory=dict)
    controller: Mapping[str, Mapping[str, Any] | None] = field(default_factory=dict)
    warehouse: Mapping[str, int | None] = field(default_factory=dict)
    errors: Mapping[str, str] = field(default_factory=dict)
    # What replicas answered at /_/errors: the last 4xx/5xx per step ({"workflow", "step",
    # "at", "status", "reason"}: etlkit/calllog.py), every replica's.
    call_errors: tuple[Mapping[str, Any], ...] = ()
    # What this round watched, when the collector found the running workflows anew (a run the
    # workflow manager started or stopped since the last round); None: the watch list it was given.
    watch: WatchList | None = None
