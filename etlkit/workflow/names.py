"""How the parts of a workflow are named once deployed; one place, so names never drift apart.

Argo Events labels pods with the EventSource/Sensor name, so every name here must stay a DNS-1123
label (63 characters at most): the parser bounds workflow, operation and topic names to make sure.
"""
from __future__ import annotations

# Operation names taken by the rendered resources themselves; steps and sources may not use them.
AUTOSCALER_OPERATION = "autoscaler"
TICKS_SUFFIX = "ticks"


def kafka_eventsource(topic: str) -> str:
    """One Kafka EventSource per consumed topic, named after the topic (its event name too)."""
    return topic


def calendar_eventsource(workflow: str) -> str:
    """One calendar EventSource per workflow; each ticked operation is one event name in it."""
    return f"{workflow}-{TICKS_SUFFIX}"


def sensor(workflow: str, operation: str) -> str:
    """One Sensor per operation (step, sink, ticked source, autoscaler)."""
    return f"{workflow}-{operation}"


def consumer_group(workflow: str, topic: str) -> str:
    """The Kafka consumer group reading ``topic`` for ``workflow``: where the autoscaler reads lag."""
    return f"faas-etl.{workflow}.{topic}"
