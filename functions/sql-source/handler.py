"""SQL source: each tick pulls the rows after the committed cursor into the topic, page by
page, and advances the cursor only after Kafka acknowledged the page (a crash re-reads it).

Body: {"workflow", "version", "source": {"kind": "sql", "name", "topic", "dead_letter"?,
"url" ("env:NAME", "secret:name" or a URL), "params": {<SqlSourceConfig>}}, "event": <tick>}.
Cursors and leases live in the state database (STATE_URL, etlkit/state_db.py), shared by every
replica. At most MAX_PAGES pages per tick keep a tick short. A page's batch ids derive from the
source and its cursor range: a page re-read after a crash writes the same ids.

Overlapping ticks: a calendar trigger runs every tick in its own goroutine (argo-events v1.9.11
pkg/sensors/listener.go), so a tick may come while the previous one of the same source still
runs, on this replica or another. A tick pulls only while it holds the source's lease (renewed
at every page); one that finds it held answers 200 ``{"skipped": ...}`` and publishes nothing,
and the cursor only ever advances by compare-and-set (etlkit/sources/cursor_store.py).
"""
import os
import socket
import uuid

from .etlkit import kafka_io
from .etlkit.http import BadRequest, database_url, error_response, json_response
from .etlkit.sourcefn import deliver, known_topics, spec_dead_letter, spec_params, spec_text
from .etlkit.sources import (SourceConfigError, SourceError, SourceUnavailable, SqlSource,
                             SqlSourceConfig, StateDbCursorStore, open_row_reader)
from .etlkit.state_db import StateUnavailable, open_state_db
from .etlkit.stepfn import parse_invocation

kafka_io.start_producer()  # its producer id is ready by the first call

MAX_PAGES = int(os.getenv("MAX_PAGES", "20"))
# A lease outlives the watchdog's exec_timeout (55 s, template/python3-etl/Dockerfile) and is
# renewed at every page: a replica that died mid-tick holds its source for at most this long.
LEASE_TTL_MS = 60_000
_sources = {}
_store = None


def _cursor_store():
    global _store
    _store = _store or StateDbCursorStore(open_state_db(application_name="sql-source"))
    return _store


def _source(spec):
    url = database_url(spec.get("url", "env:WAREHOUSE_URL"), "source.url")
    config = SqlSourceConfig.from_spec(spec_params(spec))
    cache_key = (url, config)
    if cache_key not in _sources:
        _sources[cache_key] = SqlSource(config, open_row_reader(url, config), _cursor_store())
    return _sources[cache_key]


def _pull(source, topic, dead_letter, holder, totals):
    """Deliver pages while this tick holds the source's lease."""
    name = source.config.source
    while totals["pages"] < MAX_PAGES:
        now = kafka_io.now_ms()
        if not _cursor_store().acquire(name, holder, now, LEASE_TTL_MS):
            return f"another tick of source {name!r} holds its lease" if totals["pages"] == 0 else None
        page = source.fetch_page(now)
        counts = deliver([*page.records, *page.bad], topic, dead_letter,
                         kafka_io.produce_batches, now, page.origin(name))
        source.commit(page)
        totals["pages"] += 1
        totals["records"] += counts["records"]
        totals["dead_lettered"] += counts["dead_lettered"]
        if not page.full:
            return None
    return None


def handle(event, context):
    totals = {"records": 0, "dead_lettered": 0, "pages": 0}
    try:
        spec = parse_invocation(event.body, "sql", role="source").step
        topic = spec_text(spec, "topic")
        source = _source(spec)  # the spec's own checks first, then the cluster's topics
        known_topics(("source.topic", topic), ("source.dead_letter", spec_dead_letter(spec)),
                     exists=kafka_io.topic_exists)
        holder = f"{socket.gethostname()}/{os.getpid()}/{uuid.uuid4().hex}"
        try:
            skipped = _pull(source, topic, spec_dead_letter(spec), holder, totals)
        finally:
            _cursor_store().release(source.config.source, holder)
        if skipped:
            return json_response(200, {"topic": topic, "skipped": skipped, **totals})
    except SourceConfigError as exc:
        return json_response(400, {"error": f"source.params.{exc}"})
    except BadRequest as exc:
        return error_response(exc)
    except (SourceUnavailable, StateUnavailable, kafka_io.DeliveryError) as exc:
        return json_response(503, {"error": str(exc), **totals})
    except SourceError as exc:
        return json_response(500, {"error": str(exc), **totals})
    return json_response(200, {"topic": topic, **totals})
