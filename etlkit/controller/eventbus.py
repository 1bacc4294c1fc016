"""The EventBus edge of gather: events a step's Sensor holds in JetStream, not yet done.

Why the controller reads the bus: the Kafka EventSource marks a message in its consumer group as
soon as the EventBus accepted the event (argo-events v1.9.11 ``pkg/eventsources/sources/kafka/
start.go``: ``MarkMessage`` after ``dispatch``), so that group's lag stays near zero while the
step's real backlog waits in the stream. What waits there, per Sensor: each durable consumer of
stream ``default`` (``v1alpha1.JetStreamStreamName``) filtered on subject
``default.<eventsource>.<event>`` (``pkg/eventbus/jetstream/sensor/trigger_conn.go``,
``Subscribe``: one durable pull consumer per (sensor, trigger, dependency)); an input topic's
events are its lanes, each read by its own trigger (:func:`input_held`). Its ``num_pending``
counts events in the stream it has not fetched, its ``num_ack_pending`` those fetched and not
acknowledged (with ``atLeastOnce`` a Sensor acknowledges once its trigger is done).

Where it is read: the EventBus Service's monitor port 8222 (``pkg/reconciler/eventbus/installer/
jetstream.go``: port ``monitor``), ``/jsz?accounts=true&streams=true&consumers=true&config=true``
(nats-server monitoring), which lists every consumer with ``num_pending`` and
``num_ack_pending``, and with ``config=true`` only its ``config.filter_subject`` (without it the
subject is absent: seen on nats-server 2.10.29).

The unit is the bus's: events, one per Kafka message (a record batch, docs/contracts.md
"Records on Kafka"); :mod:`.gather` converts messages to records. :func:`held_by_subject` is
pure; :class:`JetStreamMonitor` is the I/O (``requests``) and raises ``EdgeError("eventbus")``;
:class:`NoEventBus` stands for a deployment without a bus (the stand-in runner reads Kafka
directly and commits after the trigger succeeded, ``devstack/argo/runner.py``), whose held
events are absent rather than zero.
"""
from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from ..workflow import names
from .errors import EdgeError

__all__ = ["STREAM", "input_held", "held_by_subject", "JetStreamMonitor",
           "NoEventBus", "NO_EVENTBUS_REASON"]

STREAM = "default"  # v1alpha1.JetStreamStreamName: one stream per EventBus
NO_EVENTBUS_REASON = ("no EventBus monitor configured (EVENTBUS_MONITOR_URL): the runner reads "
                      "Kafka itself, its group's lag is the whole backlog")


def input_held(by_subject: Mapping[str, int], workflow: str, topic: str) -> int:
    """Events the bus holds for a workflow's input topic, summed over its EventSource's events.

    An EventSource publishes an event on subject ``default.<eventsource>.<event>``, which a
    Sensor's consumers filter on. A workflow's input topic has its own EventSource
    (:func:`etlkit.workflow.names.kafka_eventsource`: ``<workflow>-<topic>``) with one event per
    lane (:func:`etlkit.workflow.names.lane_event`: ``default.<workflow>-<topic>.<topic>-<i>``);
    every one counts, whatever the number of lanes, and another workflow's EventSource on the
    same topic does not. Names are DNS labels (no dot), so a subject's second part is its
    EventSource.

    >>> input_held({"default.w-a.a-0": 2, "default.w-a.a-1": 3, "default.w-a-b.a-b-0": 7,
    ...             "default.v-a.a-0": 9}, "w", "a")
    5
    """
    source = names.kafka_eventsource(workflow, topic)
    return sum(n for s, n in by_subject.items() if s.split(".")[:2] == [STREAM, source])


def stream_detail(jsz: Mapping[str, Any], stream: str = STREAM) -> Mapping[str, Any] | None:
    """``stream``'s entry in a ``/jsz?accounts=true&streams=true...`` answer (None: no such
    stream). The one walk of that answer's layout (``account_details[].stream_detail[]``) that
    the controller and the devstack's bus readers share."""
    for account in jsz.get("account_details") or []:
        for detail in account.get("stream_detail") or []:
            if detail.get("name") == stream:
                return detail
    return None


@dataclass(frozen=True)
class ConsumerState:
    name: str
    filter_subject: str  # only listed with config=true
    num_pending: int
    num_ack_pending: int
    num_redelivered: int
    acked: int  # ack floor: consumer deliveries acknowledged, in order, since the consumer exists

    @property
    def held(self) -> int:
        """Events not yet done: not delivered yet, or delivered and not acknowledged."""
        return self.num_pending + self.num_ack_pending


def consumers(jsz: Mapping[str, Any], stream: str = STREAM) -> dict[str, ConsumerState]:
    """The durable consumers of ``stream`` in a ``/jsz?...&consumers=true`` answer, by name."""
    detail = stream_detail(jsz, stream) or {}
    return {c["name"]: ConsumerState(c["name"], (c.get("config") or {}).get("filter_subject") or "",
                                     int(c.get("num_pending", 0)), int(c.get("num_ack_pending", 0)),
                                     int(c.get("num_redelivered", 0)),
                                     int((c.get("ack_floor") or {}).get("consumer_seq", 0)))
            for c in detail.get("consumer_detail") or []}


def held_by_subject(jsz: Mapping[str, Any], stream: str = STREAM) -> dict[str, int]:
    """Events not yet done (:attr:`ConsumerState.held`) summed per filter subject over the
    consumers of ``stream`` in a ``/jsz?...&consumers=true&config=true`` answer.

    >>> held_by_subject({"account_details": [{"stream_detail": [{"name": "default",
    ...     "consumer_detail": [{"name": "c", "num_pending": 3, "num_ack_pending": 1,
    ...                          "config": {"filter_subject": "default.a.a"}}]}]}]})
    {'default.a.a': 4}
    """
    out: dict[str, int] = {}
    for consumer in consumers(jsz, stream).values():
        out[consumer.filter_subject] = out.get(consumer.filter_subject, 0) + consumer.held
    return out


class JetStreamMonitor:
    """An :class:`~.ports.EventBusPending` over the nats-server monitoring endpoint."""

    def __init__(self, url: str, timeout_s: float = 5.0, session=None) -> None:
        import requests

        self.url = url.rstrip("/")
        self.timeout_s = timeout_s
        self.session = session or requests.Session()

    def held(self) -> dict[str, int]:
        import requests

        url = f"{self.url}/jsz?accounts=true&streams=true&consumers=true&config=true"
        try:
            resp = self.session.get(url, timeout=self.timeout_s)
            resp.raise_for_status()
            return held_by_subject(resp.json())
        except (requests.RequestException, ValueError) as exc:
            raise EdgeError("eventbus", f"GET {url}: {type(exc).__name__}: {exc}") from exc


class NoEventBus:
    """No bus between Kafka and the functions: nothing is held anywhere but in Kafka."""

    def held(self) -> None:
        return None
