"""The narrow interfaces the controller depends on, and the plain data that crosses them.

Each edge is two or three methods, so a test double is a few lines:

* :class:`OffsetReader` (Kafka): end offsets of topics, committed offsets of groups;
* :class:`EventBusPending` (the JetStream EventBus): events its Sensors hold, per subject;
* :class:`ClusterView` (the local gateway or the Kubernetes API): nodes and functions' replicas;
* :class:`FunctionMetrics` (the gateway's metrics): seconds spent in each function's calls;
* :class:`Actuator` (the same platform): set a function's replicas and where they run;
* :class:`Matcher` (the matcher function): match two operations' services;
* :class:`TickLease` (where the memory is): one tick of a workflow at a time;
* :class:`ClaimBoard` (where the memory is): every workflow's claims on the functions it scales.

Implementations raise :class:`~.errors.EdgeError` naming the edge when it cannot be reached.
"""
from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Protocol

from ..scheduler import Endpoint, Node, NodeTopology, ServiceMatching

__all__ = ["TopicOffsets", "Replica", "FunctionReplicas", "OffsetReader", "EventBusPending",
           "ClusterView", "FunctionMetrics", "Actuator", "Matcher", "TickLease", "ClaimBoard"]


@dataclass(frozen=True)
class TopicOffsets:
    """Per partition of a topic: the high watermark and the low watermark (log start); and the
    newest messages read to learn how many records a message carries (record batches,
    docs/contracts.md): ``sampled_messages`` messages holding ``sampled_records`` records."""

    high: Mapping[int, int]
    low: Mapping[int, int]
    sampled_messages: int = 0
    sampled_records: int = 0


@dataclass(frozen=True)
class Replica:
    """One running instance of a function: its id on the platform, its node, and readiness."""

    id: str
    node: str
    ready: bool = True


@dataclass(frozen=True)
class FunctionReplicas:
    """A function as the platform runs it.

    ``desired`` is the replica count the platform was asked for; ``replicas`` the instances it
    runs (pending ones, without a node yet, are not listed); ``weight`` the load one replica puts
    on a node, in the unit of the nodes' capacity (a replica locally, CPU cores on Kubernetes).
    ``placement`` is the per-node distribution last written to the platform, when it keeps one.
    """

    name: str
    desired: int
    replicas: tuple[Replica, ...]
    weight: float = 1.0
    placement: Mapping[str, int] | None = None


class OffsetReader(Protocol):
    def end_offsets(self, topics: Sequence[str]) -> dict[str, TopicOffsets]:
        """High and low watermarks of every partition of each topic (from fetch responses)."""

    def committed(self, group: str, topic: str, partitions: Sequence[int]) -> dict[int, int | None]:
        """The group's committed offset per partition (None where it committed nothing)."""


class EventBusPending(Protocol):
    def held(self) -> Mapping[str, int] | None:
        """Events the Sensors' consumers have not finished (pending + unacknowledged), per filter
        subject ``default.<eventsource>.<event>``; None when there is no EventBus at all."""


class ClusterView(Protocol):
    def nodes(self, ours: frozenset[str]) -> list[Node]:
        """Every schedulable node with its labels and capacity; ``background_load`` is what the
        replicas of functions not in ``ours`` use of it."""

    def function(self, name: str) -> FunctionReplicas:
        """The function's desired count and running replicas (EdgeError when it is unknown)."""


class FunctionMetrics(Protocol):
    def busy_seconds(self) -> dict[str, float]:
        """Cumulative seconds spent in each function's invocations, by function name."""


class Actuator(Protocol):
    def scale(self, function: str, replicas: int) -> None:
        """Set the function's replica count (idempotent)."""

    def place(self, function: str, nodes: Mapping[str, int]) -> None:
        """Steer the function's replicas to these nodes, in these numbers (idempotent)."""


class Matcher(Protocol):
    def match(self, upstream: Sequence[Endpoint], downstream: Sequence[Endpoint],
              nodes: Mapping[str, NodeTopology]) -> ServiceMatching:
        """Maximum flow from upstream to downstream services at minimum topology cost."""


class TickLease(Protocol):
    def acquire(self, key: str, holder: str, now: float, ttl_s: float):
        """Claim ``key``'s lease for ``ttl_s`` seconds: a :class:`~.lease.LeaseGrant` saying
        whether ``holder`` got it, and otherwise who holds it until when."""

    def release(self, key: str, holder: str) -> None:
        """Give the lease back (nothing if ``holder`` does not hold it)."""


class ClaimBoard(Protocol):
    def post(self, workflow: str, claims: Sequence) -> None:
        """Replace ``workflow``'s claims (:class:`~.sharing.Claim`) with these, durably."""

    def read(self) -> list:
        """Every workflow's latest claims (expired ones too: the reader knows the time)."""
