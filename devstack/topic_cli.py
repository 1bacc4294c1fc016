"""``faas-etl topic list|tail``: the cluster's topics, and a topic's newest records, unbatched.

Records travel as batches (docs/contracts.md, "Records on Kafka"); ``tail`` prints each record
of them on its own, decoded by :func:`etlkit.wire.unbatch`, the one reader of the wire format
(a plain message is one record). Exit codes: 0 done, 1 a failure (Kafka unreachable, no such
topic), 2 usage.
"""
from __future__ import annotations

import argparse
import json
import sys
from typing import Any, Sequence

from etlkit import wire
from etlkit.controller.errors import EdgeError
from etlkit.controller.kafka_offsets import KafkaOffsets

from .audit import RawMessage
from .stack_address import NoStack, add_kafka_option, add_run_dir_option, where
from .topic_io import read_topics, topic_names
from .workflow_files import NoWorkflowFile, workflow_file


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="faas-etl topic", description=(
        "The cluster's topics with their messages and records, and a topic's newest records, "
        "one per line (batches unbatched)."))
    sub = p.add_subparsers(dest="action", required=True, metavar="ACTION")
    listing = sub.add_parser("list", help="every topic: partitions, messages, records")
    listing.add_argument("-w", "--workflow", metavar="WORKFLOW", help="only this workflow's topics (name or file)")
    tail = sub.add_parser("tail", help="the newest records of a topic, one per line")
    tail.add_argument("topic", metavar="TOPIC", help="topic name")
    tail.add_argument("-n", "--lines", type=int, default=10, help="records to print, newest last (10)")
    tail.add_argument("--partition", type=int, help="only this partition (default: every partition)")
    for action in sub.choices.values():
        add_kafka_option(action)
        add_run_dir_option(action)
        action.add_argument("--timeout", type=float, default=30.0, help="seconds to read the topics (30)")
        action.add_argument("--json", action="store_true", help="print JSON (tail: one object per line)")
    return p


def records_of(messages: Sequence[RawMessage]) -> list[dict[str, Any]]:
    """Each record of ``messages``, in partition and offset order: where it was, its key, event
    time, headers and value. A message that is not a record is shown with ``error``."""
    out = []
    for m in sorted(messages, key=lambda m: (m.partition, m.offset)):
        at = {"topic": m.topic, "partition": m.partition, "offset": m.offset}
        try:
            _identity, entries, _end = wire.unbatch(m.value, m.headers, m.key, m.timestamp_ms)
        except ValueError as exc:
            out.append({**at, "error": str(exc)})
            continue
        out += [{**at, "key": e.get("key"), "time": e.get("time"), "headers": e.get("headers") or {},
                 "value": e.get("value")} for e in entries]
    return out


def tail(kafka: str, topic: str, lines: int, partition: int | None, timeout_s: float) -> list[dict[str, Any]]:
    # a message holds at least one record: the last `lines` messages of each partition suffice
    messages, partitions = read_topics(kafka, [topic], timeout_s, last=lines)
    if partition is not None and partition not in range(partitions[topic]):
        raise ValueError(f"--partition: {topic} has partitions 0..{partitions[topic] - 1}")
    chosen = [m for m in messages[topic] if partition is None or m.partition == partition]
    records = records_of(chosen)
    records.sort(key=lambda r: (r.get("time") is None, r.get("time") or 0, r["partition"], r["offset"]))
    return records[-lines:] if lines > 0 else []


def listing(kafka: str, only: Sequence[str] | None, timeout_s: float) -> list[dict[str, Any]]:
    names = topic_names(kafka, timeout_s)
    if only is not None:
        missing = [t for t in only if t not in names]
        names = {t: n for t, n in names.items() if t in only}
    chosen = sorted(names)
    offsets = KafkaOffsets(kafka, timeout_s=timeout_s)
    try:
        ends = offsets.end_offsets(chosen) if chosen else {}
    finally:
        offsets.close()
    rows = []
    for topic in chosen:
        o = ends[topic]
        messages = sum(o.high[p] - o.low[p] for p in o.high)
        rows.append({"name": topic, "partitions": names[topic], "messages": messages})
    rows += [{"name": t, "partitions": 0, "messages": 0, "missing": True} for t in (missing if only else ())]
    return rows


def run(args: argparse.Namespace) -> int:
    try:
        kafka = where(args).kafka
        if args.action == "list":
            only = [t.name for t in workflow_file(args.workflow).topics] if args.workflow else None
            rows = listing(kafka, only, args.timeout)
            if args.json:
                print(json.dumps(rows))
            else:
                print(f"{'TOPIC':<40}{'PARTITIONS':>11}{'MESSAGES':>10}")
                for r in rows:
                    print(f"{r['name']:<40}{r['partitions']:>11}{r['messages']:>10}"
                          + ("  (not created)" if r.get("missing") else ""))
            return 0
        if args.lines < 0:
            raise ValueError("--lines: must be 0 or more")
        for record in tail(kafka, args.topic, args.lines, args.partition, args.timeout):
            print(json.dumps(record) if args.json else _line(record))
        return 0
    except (NoStack, NoWorkflowFile, EdgeError, TimeoutError, RuntimeError, ValueError) as exc:
        print(f"faas-etl topic {args.action}: {exc}", file=sys.stderr)
        return 1


def _line(record: dict[str, Any]) -> str:
    where = f"{record['topic']}[{record['partition']}]@{record['offset']}"
    if "error" in record:
        return f"{where} not a record: {record['error']}"
    value = json.dumps(record["value"], separators=(",", ":"), ensure_ascii=False)
    return f"{where} key={record['key']} time={record['time']} {value}"


def main(argv: Sequence[str] | None = None) -> int:
    return run(build_parser().parse_args(argv))


if __name__ == "__main__":
    sys.exit(main())
