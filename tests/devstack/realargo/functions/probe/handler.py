"""A step function for the real-Argo defect tests: records every call it gets, answers as told.

The query string says how to behave (a Sensor's HTTP trigger URL carries it):
``file`` names the record file (one per scenario), ``status`` the HTTP status to answer (200),
``hold_ms`` how long to hold the call before answering (0).

Each call appends two JSON lines to ``$RECORD_DIR/<file>.jsonl``, each in one ``write`` so the
lines of concurrent calls never interleave:

* ``{"phase": "in", "call", "t", "body"}`` when the call arrives: ``body`` is the request body
  as text, exactly the bytes the Sensor sent (so a number keeps the digits it came with);
* ``{"phase": "out", "call", "t", "status"}`` when the answer is returned.

A call that was cut off (its caller killed) still writes its ``out`` line: the function applied
it, whoever was waiting for the answer.
"""
import json
import os
import re
import time
import uuid


def _append(name, entry):
    line = (json.dumps(entry) + "\n").encode()
    fd = os.open(os.path.join(os.environ["RECORD_DIR"], f"{name}.jsonl"), os.O_WRONLY | os.O_APPEND | os.O_CREAT)
    try:
        os.write(fd, line)
    finally:
        os.close(fd)


def handle(event, context):
    name = re.sub(r"[^A-Za-z0-9_.-]", "_", event.query.get("file", "default"))
    status = int(event.query.get("status", "200"))
    hold_ms = int(event.query.get("hold_ms", "0"))
    call = uuid.uuid4().hex
    _append(name, {"phase": "in", "call": call, "t": time.time(),
                   "body": (event.body or b"").decode("utf-8", "replace")})
    if hold_ms:
        time.sleep(hold_ms / 1000)
    _append(name, {"phase": "out", "call": call, "t": time.time(), "status": status})
    return {"statusCode": status, "body": json.dumps({"status": status}),
            "headers": {"Content-Type": "application/json"}}
