"""The main job of `make run`: records through a real function into a real Kafka topic."""
from __future__ import annotations

import json
import sys
import time

from .kafka_tools import consume_all
from .localstack import LocalStack

TOPIC = "demo.orders"


def _progress(done: int, total: int, started: float) -> None:
    width = 30
    filled = int(width * done / max(total, 1))
    rate = done / max(time.perf_counter() - started, 1e-9)
    print(f"\r    [{'#' * filled}{'.' * (width - filled)}] {done}/{total} records  {rate:,.0f}/s",
          end="" if done < total else "\n", file=sys.stderr, flush=True)


def run_demo(records: int = 20000, batch: int = 1000, as_json: bool = False) -> int:
    say = lambda msg: print(f"==> {msg}", file=sys.stderr, flush=True)  # noqa: E731
    t0 = time.perf_counter()
    stack = LocalStack(functions=["ingest"])
    try:
        stack.up(progress=say)
        stack.create_topics({TOPIC: 4})
        say(f"sending {records} orders to the ingest function, {batch} per call")
        accepted = rejected = 0
        started = time.perf_counter()
        with stack.session() as s:
            for first in range(0, records, batch):
                chunk = [{"id": f"order-{i}", "amount": round(10 + (i % 97) * 1.25, 2),
                          "status": "paid" if i % 5 else "cancelled"}
                         for i in range(first, min(first + batch, records))]
                resp = s.post(f"{stack.url}/function/ingest/{TOPIC}?key=id&source=demo",
                              json=chunk, timeout=60)
                resp.raise_for_status()
                accepted += resp.json()["accepted"]
                rejected += resp.json()["rejected"]
                _progress(first + len(chunk), records, started)
        send_seconds = time.perf_counter() - started
        say(f"reading {TOPIC} back from the broker")
        messages = consume_all(stack.bootstrap, TOPIC, accepted, timeout=60)
        keys = {m.key() for m in messages}
        summary = {"function": "ingest", "topic": TOPIC, "sent": records, "accepted": accepted,
                   "rejected": rejected, "on_topic": len(messages), "distinct_keys": len(keys),
                   "ingest_records_per_s": round(accepted / send_seconds),
                   "total_seconds": round(time.perf_counter() - t0, 2)}
    finally:
        say("stopping the stack")
        stack.down()
    ok = summary["on_topic"] == summary["accepted"] == summary["distinct_keys"] == records
    if as_json:
        print(json.dumps({**summary, "ok": ok}))
    else:
        print("\nfaas-etl run: summary")
        for key, value in summary.items():
            print(f"  {key:<22} {value}")
        print(f"  {'result':<22} {'OK: every record landed once' if ok else 'MISMATCH'}")
    return 0 if ok else 1
