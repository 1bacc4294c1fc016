"""A downstream step for the routing tests: for every event it receives, appends one line
``{"origin": <etl-node header>, "node": <this replica's node>}`` to ``$RECORD_DIR/<file>.jsonl``
(``file`` from the envelope), then answers 200 with the step counters."""
import json
import os
import re


def handle(event, context):
    body = json.loads(event.body)
    events = body["events"] if "events" in body else [body["event"]]
    node = os.environ.get("NODE_NAME", "")
    name = re.sub(r"[^A-Za-z0-9_.-]", "_", str(body.get("file", "default")))
    lines = "".join(json.dumps({"origin": (e.get("headers") or {}).get("etl-node"), "node": node})
                    + "\n" for e in events)
    fd = os.open(os.path.join(os.environ["RECORD_DIR"], f"{name}.jsonl"),
                 os.O_WRONLY | os.O_APPEND | os.O_CREAT)
    try:
        os.write(fd, lines.encode())  # one write: concurrent replicas never interleave lines
    finally:
        os.close(fd)
    return {"statusCode": 200, "body": json.dumps({"in": len(events), "out": len(events),
                                                   "filtered": 0, "dead_lettered": 0}),
            "headers": {"Content-Type": "application/json"}}
