"""Pure half of HTTP ingest: split a body into records to produce and rejections with reasons."""
from __future__ import annotations

import json
import re
from dataclasses import dataclass, field

from .http import BadRequest, parse_json_body
from .outrecord import json_record
from .schemas.validation import field_path

TOPIC_NAME = re.compile(r"^[A-Za-z0-9._-]{1,249}$")
# A lone surrogate can only come from a JSON escape (UTF-8 cannot encode one): only a body with
# such an escape needs the text checks of _unfaithful.
_SURROGATE_ESCAPE = re.compile(rb"\\u[dD][89a-fA-F]")
MAX_DEPTH = 64           # levels of objects and arrays in one record (the record itself is 1)


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


def _escaped(text: str) -> str:
    return json.dumps(text)[1:-1]  # ASCII: a lone surrogate shows as \\udXXX


def _unfaithful(record: dict, check_text: bool) -> str | None:
    """The first thing in ``record`` the pipeline could not carry faithfully, as
    "<field>: <rule>"; None when there is none. Refused at the door, per record, because
    downstream it would be worse than an error:

    * nesting deeper than MAX_DEPTH: a step or the runner would hit its recursion limit and the
      record could be neither delivered nor dead-lettered (its partition would stall);
    * text with a lone surrogate (``check_text``: only a body with such an escape can hold one):
      valid JSON, but no UTF-8, so neither a Kafka key nor a warehouse value.

    Any integer is carried exactly (the Sensors pass the raw event bytes, ``useRawData``, and
    the warehouse keeps exact values), so none is refused for its size.

    Iterative, so a record as deep as the JSON parser allows cannot exhaust the stack.
    """
    stack: list[tuple[object, int, tuple]] = [(record, 1, ())]
    while stack:
        value, depth, path = stack.pop()
        if isinstance(value, (dict, list)):
            if depth > MAX_DEPTH:
                return f"{field_path(path)}: nested deeper than {MAX_DEPTH} levels"
            items = value.items() if isinstance(value, dict) else enumerate(value)
            children = []
            for name, item in items:
                if check_text and isinstance(name, str) and not _utf8(name):
                    return (f"{field_path((*path, _escaped(name)))}: field name is not valid "
                            "Unicode (a lone surrogate)")
                kind = type(item)  # exact types: JSON gives nothing else, and it is the hot loop
                if kind is dict or kind is list or (kind is str and check_text):
                    children.append((item, depth + 1, (*path, name)))
            stack.extend(reversed(children))  # popped in document order
        elif not _utf8(value):  # a str: only those and containers are stacked
            return f"{field_path(path)}: text is not valid Unicode ({_escaped(value)[:40]})"
    return None


def _utf8(text: str) -> bool:
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def _size(out) -> int:
    """Bytes of a record about as the producer counts them against its message limit (key,
    value, and each header with a little framing)."""
    return len(out.value) + len(out.key or b"") + sum(len(k) + len(v) + 8 for k, v in out.headers)


def plan_ingest(topic: str, body: bytes, key_field: str | None, source: str, max_batch: int,
                now_ms: int, validate=None, max_record_bytes: int | None = None) -> IngestPlan:
    """Decide per record: accepted (to produce) or rejected (with the field and the rule).

    ``max_record_bytes``: the largest record accepted (None: no limit). The ingest function
    allows half of Kafka's message limit: a step adds fields and a dead letter wraps the record
    with its reason, and either would fail for good above the limit, stalling its partition.
    """
    if not TOPIC_NAME.match(topic or "") or topic in (".", ".."):  # Kafka forbids those two
        raise BadRequest("topic: name it in the path, /function/ingest/<topic> "
                         "(letters, digits, '.', '_', '-')")
    records = _records_of(parse_json_body(body))
    if len(records) > max_batch:
        raise BadRequest(f"records: at most {max_batch} per request, got {len(records)}", status=413)
    surrogates = _SURROGATE_ESCAPE.search(body) is not None
    plan = IngestPlan()
    for i, rec in enumerate(records):
        error = None
        if not isinstance(rec, dict):
            error = f"records[{i}]: must be a JSON object"
        elif reason := _unfaithful(rec, check_text=surrogates):
            error = f"records[{i}].{reason}"
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
        out = json_record(topic, rec, key, source, now_ms)
        if max_record_bytes is not None and (size := _size(out)) > max_record_bytes:
            plan.rejected += 1
            plan.results.append({"index": i, "status": "rejected", "error":
                                 f"records[{i}]: {size} bytes, larger than the limit of "
                                 f"{max_record_bytes} bytes per record"})
            continue
        plan.records.append(out)
        plan.results.append({"index": i, "status": "accepted"})
    return plan
