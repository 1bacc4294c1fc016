"""HTTP ingest (the REST-proxy role): one JSON record or a batch into a Kafka topic.

POST /function/ingest/<topic>[?key=<field>&source=<name>&end=true]
Body: a JSON object (one record), an array of objects, or {"records": [...]}.
Records are checked against the topic's latest schema in the registry, when it has one, and
refused when the pipeline could not carry them faithfully (nested deeper than 64 levels, text
that is not Unicode, larger than half of KAFKA_MAX_MESSAGE_BYTES).
``end=true`` (body empty, ``[]`` or last records): the input of this topic is over, from every
source that writes it. The last batch of every partition says ``"end": true``, so the aggregate
windows downstream close, the last ones too, without a hand-made record stamped past the
lateness. The caller says so once every source of the topic is done (docs/contracts.md).
Header Idempotency-Key (optional): the records go to Kafka as batches whose ids derive from the
topic and this key, so a retried request (same key) writes the same ids, which the aggregate and
the warehouse apply once; the same key with a different body is taken for the same request.
Without it the ids are random: a retry is a new request.
Answer: {"topic", "accepted", "rejected", "results": [{"index", "status", "error"?}], "end"}; 200 when
every accepted record is acknowledged by Kafka, 207 when some were rejected, 400 when none was
acceptable, 404 for an unknown topic, 503 when Kafka did not acknowledge (nothing to assume).
"""
import os
import uuid

from .etlkit.http import BadRequest, error_response, json_response, query_flag
from .etlkit.ingest import plan_ingest
from .etlkit import kafka_io
from .etlkit.schema_store import registry_from_env

kafka_io.start_producer()  # its producer id is ready by the first call

MAX_BATCH = 10_000
# Half of Kafka's message limit (librdkafka and broker default 1 MB): see plan_ingest.
MAX_RECORD_BYTES = int(os.getenv("KAFKA_MAX_MESSAGE_BYTES", "1000000")) // 2
_registry = None


def _validator(topic):
    """Check records against the topic's latest schema, when the topic has one."""
    global _registry
    _registry = _registry or registry_from_env()
    _registry.refresh()
    if not _registry.versions(topic):
        return None
    return _registry.validator(topic).first_problem


def handle(event, context):
    try:
        if event.method != "POST":
            raise BadRequest("method: POST a record or a batch", status=405)
        topic = event.path.strip("/").split("/")[0]
        end = query_flag(event.query, "end")
        # An end of input alone needs no records: an empty body is an empty batch then.
        body = event.body if event.body.strip() or not end else b"[]"
        plan = plan_ingest(topic, body, key_field=event.query.get("key"),
                           source=event.query.get("source") or "http", max_batch=MAX_BATCH,
                           now_ms=kafka_io.now_ms(), validate=_validator(topic),
                           max_record_bytes=MAX_RECORD_BYTES)
        if not kafka_io.topic_exists(topic):
            raise BadRequest(f"topic: unknown topic {topic!r}", status=404)
        key = event.headers.get("Idempotency-Key") or uuid.uuid4().hex
        kafka_io.produce_batches(plan.records, f"ingest:{topic}:{key}", end=end,
                                 end_topics=(topic,) if end else ())
    except BadRequest as exc:
        return error_response(exc)
    except kafka_io.DeliveryError as exc:
        return json_response(503, {"error": f"kafka: {exc}", "accepted": 0})
    # An end of input was written even when every record was refused: not a plain 400.
    status = 200 if not plan.rejected else (207 if plan.records or end else 400)
    return json_response(status, {**plan.answer(topic), "end": end})
