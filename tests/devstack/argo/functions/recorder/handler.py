"""A step function for the runner's tests: records every request it gets, answers as told.

Each request appends one JSON line to ``$RECORD_DIR/<file>.jsonl`` (``?file=`` names it, so
tests do not share a file): ``{"status", "batch", "events"}``. The answer's status is the
highest ``status`` found in the records' bodies (200 when none), after sleeping the largest
``sleep_ms`` found (to keep a request in flight).
"""
import json
import os
import re
import time


def _events(body):
    return body["events"] if "events" in body else [body.get("event")]


def handle(event, context):
    body = json.loads(event.body or b"{}")
    events = _events(body)
    records = [e.get("body") for e in events if isinstance(e, dict)]
    records = [r for r in records if isinstance(r, dict)]
    status = max([200] + [int(r["status"]) for r in records if "status" in r])
    pause = max([0] + [int(r["sleep_ms"]) for r in records if "sleep_ms" in r])
    if pause:
        time.sleep(pause / 1000)
    name = re.sub(r"[^A-Za-z0-9_.-]", "_", event.query.get("file", "default"))
    line = json.dumps({"status": status, "batch": "events" in body, "events": events}) + "\n"
    fd = os.open(os.path.join(os.environ["RECORD_DIR"], f"{name}.jsonl"), os.O_WRONLY | os.O_APPEND | os.O_CREAT)
    try:
        os.write(fd, line.encode())  # one write: lines of concurrent replicas never interleave
    finally:
        os.close(fd)
    return {"statusCode": status, "body": json.dumps({"in": len(events), "out": len(events),
                                                      "filtered": 0, "dead_lettered": 0}),
            "headers": {"Content-Type": "application/json"}}
