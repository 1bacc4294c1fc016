"""A step function for the runner's tests: records every request it gets, answers as told.

Each request appends one JSON line to ``$RECORD_DIR/<file>.jsonl`` (``?file=`` names it, so
tests do not share a file): ``{"status", "raw"}``, ``raw`` the body as it came (the tests read
it with etlkit.stepfn.parse_invocation, and check exact number texts in it). The answer's status
is the record's ``status`` (200 when none), after sleeping its ``sleep_ms`` (to keep a request in
flight).
"""
import json
import os
import re
import time


def handle(event, context):
    text = (event.body or b"{}").decode("utf-8", "surrogateescape")
    body = json.loads(text)
    data = body.get("event") if isinstance(body, dict) else None
    record = data.get("body") if isinstance(data, dict) else None
    record = record if isinstance(record, dict) else {}
    status = int(record.get("status", 200))
    if record.get("sleep_ms"):
        time.sleep(int(record["sleep_ms"]) / 1000)
    name = re.sub(r"[^A-Za-z0-9_.-]", "_", event.query.get("file", "default"))
    line = json.dumps({"status": status, "raw": text}) + "\n"  # ASCII: lone surrogates escaped
    fd = os.open(os.path.join(os.environ["RECORD_DIR"], f"{name}.jsonl"), os.O_WRONLY | os.O_APPEND | os.O_CREAT)
    try:
        os.write(fd, line.encode())  # one write: lines of concurrent replicas never interleave
    finally:
        os.close(fd)
    return {"statusCode": status, "body": json.dumps({"in": 1, "out": 1, "filtered": 0, "dead_lettered": 0}),
            "headers": {"Content-Type": "application/json"}}
