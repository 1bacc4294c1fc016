"""How the parts of a workflow are named once deployed; one place, so names never drift apart.

Argo Events labels pods with the EventSource/Sensor name, so every name here must stay a DNS-1123
label (63 characters at most): the parser bounds workflow, operation and topic names to make sure.
"""
from __future__ import annotations

# Operation names taken by the rendered resources themselves; steps and sources may not use them.
AUTOSCALER_OPERATION = "autoscaler"
TICKS_SUFFIX = "ticks"
# A Kubernetes object name that labels its pods: a DNS-1123 label.
KAFKA_EVENTSOURCE_MAX = 63


def kafka_eventsource(workflow: str, topic: str) -> str:
    """One Kafka EventSource per topic a workflow consumes, named ``<workflow>-<topic>``.

    Per workflow, not per topic: two workflows reading one topic each have their own
    EventSource (their own consumer group, :func:`consumer_group`), where a name of the topic
    alone would make the second apply replace the first's. Its events are still the lanes
    ``<topic>-<i>`` (:func:`lane_event`), so a JetStream subject is
    ``default.<workflow>-<topic>.<topic>-<i>``. The parser keeps the name a DNS label
    (``KAFKA_EVENTSOURCE_MAX``).
    """
    return f"{workflow}-{topic}"


def lane_event(topic: str, lane: int) -> str:
    """Event ``lane`` of a topic's Kafka EventSource: one consumer-group member each.

    A topic read by L lanes has L events ``<topic>-0`` .. ``<topic>-<L-1>`` on the same topic and
    group. The real EventSource runs every event as its own sarama consumer-group client
    (argo-events v1.9.11 ``pkg/eventsources/eventing.go`` starts one listener goroutine per event;
    ``pkg/eventsources/sources/kafka/start.go`` ``consumerGroupConsumer``: ``sarama.NewConsumerGroup``
    per event), so Kafka's group assignment splits the partitions between the lanes, each
    partition read by one lane, in order. A Sensor trigger has one event in flight (``pkg/eventbus/
    jetstream/sensor/trigger_conn.go``: ``Fetch(1)``, one ``processMsgs`` goroutine) and every
    trigger runs in its own goroutine (``pkg/sensors/listener.go``), so L lanes with one trigger
    each are L calls in flight per step.
    """
    return f"{topic}-{lane}"


def lanes(partitions: int) -> int:
    """How many lanes a topic with ``partitions`` partitions is read by: one per partition (a
    group member beyond the partition count would get nothing to read), at least one."""
    return max(1, partitions)


def calendar_eventsource(workflow: str) -> str:
    """One calendar EventSource per workflow; each ticked operation is one event name in it."""
    return f"{workflow}-{TICKS_SUFFIX}"


def sensor(workflow: str, operation: str) -> str:
    """One Sensor per operation (step, sink, ticked source, autoscaler)."""
    return f"{workflow}-{operation}"


def consumer_group(workflow: str, topic: str) -> str:
    """The Kafka consumer group reading ``topic`` for ``workflow``: where the autoscaler reads lag."""
    return f"faas-etl.{workflow}.{topic}"


def lane_free_event_id(event_id: str) -> str:
    """An Argo Kafka event id with its lane and EventSource folded into its topic: the position
    of a plain message whichever lane, and whichever name of the EventSource, read it.

    The id is ``<eventsource>:<event>:<first broker>:<topic>:<partition>:<offset>`` (argo-events
    v1.9.11 ``pkg/eventsources/sources/kafka/start.go``, ``genUniqueID``). After a rebalance a
    partition is read by another lane, so a redelivered message would come with another event
    name; a step applies an identity at most once, so the identity must not name the lane. A
    lane event ``<topic>-<n>`` (:func:`lane_event`) of any EventSource becomes
    ``<topic>:<topic>:...``: the id a one-event EventSource named after its topic gives (what
    ``devstack.audit.plain_identity`` computes), the same before and after EventSources were
    named per workflow. Any other id is returned unchanged.

    >>> lane_free_event_id("orders-orders-raw:orders-raw-4:kafka:9092:orders-raw:2:9")
    'orders-raw:orders-raw:kafka:9092:orders-raw:2:9'
    >>> lane_free_event_id("orders-raw:orders-raw-4:kafka:9092:orders-raw:2:9")
    'orders-raw:orders-raw:kafka:9092:orders-raw:2:9'
    >>> lane_free_event_id("src:other:kafka:9092:t:0:1")
    'src:other:kafka:9092:t:0:1'
    """
    _source, _, rest = event_id.partition(":")
    event, _, position = rest.partition(":")
    fields = position.split(":")
    topic = fields[-3] if len(fields) >= 4 else ""
    lane = event[len(topic) + 1:] if topic and event.startswith(f"{topic}-") else ""
    if not (lane.isascii() and lane.isdigit()):
        return event_id
    return f"{topic}:{topic}:{position}"
