"""SQL source: each tick pulls the rows after the committed cursor into the topic, page by
page, and advances the cursor only after Kafka acknowledged the page (a crash re-reads it).

Body: {"workflow", "version", "source": {"kind": "sql", "name", "topic", "dead_letter"?,
"url" ("env:NAME", "secret:name" or a URL), "params": {<SqlSourceConfig>}}, "event": <tick>}.
Cursors live under CURSOR_DIR. At most MAX_PAGES pages per tick keep a tick short. A page's
batch ids derive from the source and its cursor range: a page re-read after a crash writes the
same ids.
"""
import os

from .etlkit import kafka_io
from .etlkit.http import BadRequest, error_response, json_response
from .etlkit.paths import local_path
from .etlkit.sourcefn import deliver, spec_text
from .etlkit.sources import (FileCursorStore, SourceConfigError, SourceError, SourceUnavailable,
                             SqlSource, SqlSourceConfig, open_row_reader)
from .etlkit.stepfn import parse_invocation
from .etlkit.warehouse import DatabaseUrlError, resolve_reference

kafka_io.start_producer()  # its producer id is ready by the first call

MAX_PAGES = int(os.getenv("MAX_PAGES", "20"))
_sources = {}


def _source(spec):
    try:
        url = resolve_reference(spec.get("url", "env:WAREHOUSE_URL"), "source.url")
    except DatabaseUrlError as exc:  # the function's configuration, not the rows: retry-worthy
        raise BadRequest(str(exc), status=500) from None
    config = SqlSourceConfig.from_spec(spec.get("params") or {})
    cache_key = (url, config)
    if cache_key not in _sources:
        store = FileCursorStore(local_path("CURSOR_DIR", "cursors"))
        _sources[cache_key] = SqlSource(config, open_row_reader(url, config), store)
    return _sources[cache_key]


def handle(event, context):
    totals = {"records": 0, "dead_lettered": 0, "pages": 0}
    try:
        spec = parse_invocation(event.body, "sql", role="source").step
        topic = spec_text(spec, "topic")
        source = _source(spec)
        while totals["pages"] < MAX_PAGES:
            now = kafka_io.now_ms()
            page = source.fetch_page(now)
            counts = deliver([*page.records, *page.bad], topic, spec.get("dead_letter"),
                             kafka_io.produce_batches, now, page.origin(source.config.source))
            source.commit(page)
            totals["pages"] += 1
            totals["records"] += counts["records"]
            totals["dead_lettered"] += counts["dead_lettered"]
            if not page.full:
                break
    except SourceConfigError as exc:
        return json_response(400, {"error": f"source.params.{exc}"})
    except BadRequest as exc:
        return error_response(exc)
    except (SourceUnavailable, kafka_io.DeliveryError) as exc:
        return json_response(503, {"error": str(exc), **totals})
    except SourceError as exc:
        return json_response(500, {"error": str(exc), **totals})
    return json_response(200, {"topic": topic, **totals})
