"""Metrics collector (the Telegraf role): on each tick, this host's CPU, memory, disk and network
counters from /proc as time-series records; rates come from this host's previous sample, kept
in the state database (STATE_URL, etlkit/state_db.py) so a restarted replica still computes them.

Body: {"workflow", "version", "source": {"kind": "metrics", "name", "topic"}, "event": <tick>}.
"""
import os
import socket

from .etlkit import kafka_io
from .etlkit.http import BadRequest, error_response, json_response
from .etlkit.sourcefn import deliver, known_topics, spec_text
from .etlkit.sources import StateDbSampleStore, host_points, point_record, read_host_sample
from .etlkit.state_db import StateUnavailable, open_state_db
from .etlkit.stepfn import parse_invocation

kafka_io.start_producer()  # its producer id is ready by the first call
_samples = None


def _sample_store():
    global _samples
    _samples = _samples or StateDbSampleStore(open_state_db(application_name="metrics-collector"))
    return _samples


def _tick_time(tick, now):
    """The tick's own time (a Calendar event's ``eventTime``: argo-events v1.9.11
    pkg/eventsources/events/event-data.go CalendarEventData), so a redelivered tick writes the
    same batch ids; the time of this call for a tick that has none."""
    stamp = tick.get("eventTime") if isinstance(tick, dict) else None
    return stamp if isinstance(stamp, str) and stamp else now


def handle(event, context):
    now = kafka_io.now_ms()
    try:
        tick = parse_invocation(event.body, "metrics", role="source")
        spec = tick.step
        topic, name = spec_text(spec, "topic"), spec_text(spec, "name")
        known_topics(("source.topic", topic), exists=kafka_io.topic_exists)
        host = os.getenv("NODE_NAME") or socket.gethostname()
        previous = _sample_store().previous(name, host)
        current = read_host_sample(now, os.getenv("PROC_ROOT", "/proc"))
        points = host_points(current, previous, host)
        origin = f"metrics:{name}:{host}:{_tick_time(tick.event, now)}"
        counts = deliver([point_record(p, name) for p in points], topic, None,
                         kafka_io.produce_batches, now, origin)
        _sample_store().keep(name, host, current)  # only after the points were acknowledged
    except BadRequest as exc:
        return error_response(exc)
    except kafka_io.DeliveryError as exc:
        return json_response(503, {"error": f"kafka: {exc}"})
    except StateUnavailable as exc:
        return json_response(503, {"error": str(exc)})
    return json_response(200, {"topic": topic, "points": counts["records"],
                               "rates": previous is not None})
