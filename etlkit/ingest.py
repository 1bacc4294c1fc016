"""Pure half of HTTP ingest: split a body into records to produce and rejections with reasons."""
from __future__ import annotations

import json
import re
from dataclasses import dataclass, field

from .http import BadRequest, parse_json_body
from .outrecord import json_record

TOPIC_NAME = re.compile(r"^[A-Za-z0-9._-]{1,249}$")


@dataclass
class IngestPlan:
    records: list = field(default_factory=list)
    results: list[dict] = field(default_factory=list)
    rejected: int = 0

    def answer(self, topic: str) -> dict:
        return {"topic": topic, "accepted": len(self.records), "rejected": self.rejected,
                "results": self.results}


def _records_of(doc: object) -> list:
    if isinstance(doc, dict) and isinstance(doc.get("records"), list):
        return doc["records"]
    if isinstance(doc, list):
        return doc
    if isinstance(doc, dict):
        return [doc]
    raise BadRequest("body: must be a JSON object, an array of objects, or {\"records\": [...]}")


def plan_ingest(topic: str, body: bytes, key_field: str | None, source: str, max_batch: int,
                now_ms: int, validate=None) -> IngestPlan:
    """Decide per record: accepted (to produce) or rejected (with the field and the rule)."""
    if not TOPIC_NAME.match(topic or ""):
        raise BadRequest("topic: name it in the path, /function/ingest/<topic> "
                         "(letters, digits, '.', '_', '-')")
    records = _records_of(parse_json_body(body))
    if len(records) > max_batch:
        raise BadRequest(f"records: at most {max_batch} per request, got {len(records)}", status=413)
    plan = IngestPlan()
    for i, rec in enumerate(records):
        error = None
        if not isinstance(rec, dict):
            error = f"records[{i}]: must be a JSON object"
        elif key_field and key_field not in rec:
            error = f"records[{i}].{key_field}: key field missing"
        elif validate is not None:
            reason = validate(rec)  # "<field>: <rule>" or None
            error = f"records[{i}].{reason}" if reason else None
        if error:
            plan.rejected += 1
            plan.results.append({"index": i, "status": "rejected", "error": error})
            continue
        key = None if not key_field else (rec[key_field] if isinstance(rec[key_field], str)
                                          else json.dumps(rec[key_field]))
        plan.records.append(json_record(topic, rec, key, source, now_ms))
        plan.results.append({"index": i, "status": "accepted"})
    return plan
