"""A stand-in step function for the controller's tests: sleeps ``?ms=`` per call, answers 200
with the node it runs on (so a test sees where a call landed)."""
import json
import os
import time


def handle(event, context):
    pause = int(event.query.get("ms", "0") or 0)
    if pause:
        time.sleep(pause / 1000)
    return {"statusCode": 200, "body": json.dumps({"node": os.environ.get("NODE_NAME"),
                                                   "replica": context.hostname}),
            "headers": {"Content-Type": "application/json"}}
