"""A step function for the differential tests: answers each record as the record says, records every call.

``?file=`` names the record file ``$RECORD_DIR/<file>.jsonl`` (one per Sensor, so two Sensors
calling with the same record never share an attempt count). The body is the step envelope a
Sensor sends, ``{..., "event": {...}}``; the record is ``event.body`` when it is an object.
A record's ``statuses`` list scripts its answers: the n-th call carrying that record's ``id``
answers ``statuses[n]`` (the last one from then on), so ``[500, 500, 200]`` fails twice then
succeeds and ``[500]`` always fails. Without ``statuses`` (or without a record: a calendar tick)
the answer is 200.

Each call appends one JSON line, in one ``write`` (lines of concurrent calls never interleave):
``{"t", "id", "attempt", "status", "body"}``, ``body`` the request body as text, the bytes the
Sensor sent. The attempt count reads the file first: calls carrying the same record are never
concurrent (one Sensor's trigger has one event in flight), different records may be.
"""
import json
import os
import re
import time


def _record(body):
    event = body.get("event") if isinstance(body, dict) else None
    record = event.get("body") if isinstance(event, dict) else None
    return record if isinstance(record, dict) else {}


def _earlier_attempts(path, record_id):
    if record_id is None or not os.path.exists(path):
        return 0
    with open(path, encoding="utf-8") as lines:
        return sum(1 for line in lines if line.strip() and json.loads(line).get("id") == record_id)


def handle(event, context):
    text = (event.body or b"").decode("utf-8", "replace")
    try:
        body = json.loads(text or "{}")
    except ValueError:
        body = {}
    record = _record(body)
    record_id = record.get("id")
    name = re.sub(r"[^A-Za-z0-9_.-]", "_", event.query.get("file", "default"))
    path = os.path.join(os.environ["RECORD_DIR"], f"{name}.jsonl")
    attempt = _earlier_attempts(path, record_id)
    statuses = record.get("statuses") or [200]
    status = int(statuses[min(attempt, len(statuses) - 1)])
    line = json.dumps({"t": time.time(), "id": record_id, "attempt": attempt, "status": status,
                       "body": text}) + "\n"
    fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT)
    try:
        os.write(fd, line.encode())
    finally:
        os.close(fd)
    return {"statusCode": status, "body": json.dumps({"status": status}),
            "headers": {"Content-Type": "application/json"}}
