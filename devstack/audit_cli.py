"""``faas-etl audit`` and ``faas-etl replay``: gather, call the pure part, print (thin).

Addresses default to the running ``faas-etl up`` (its state file); options override them, so
both commands also work against a cluster (``--kafka``, ``--prometheus``, ``--warehouse-url``).
Exit codes: 0 no gap (audit) / replayed (replay), 1 a gap, something not measured, or a failure,
2 usage.
"""
from __future__ import annotations

import argparse
import json
import sys
from datetime import datetime, timezone
from typing import Sequence

from etlkit.workflow import Workflow, names

from .stack_address import NoStack, Where, where
from .workflow_files import NoWorkflowFile, workflow_file



def _where(args) -> Where:
    try:
        return where(args)
    except NoStack as exc:
        raise SystemExit(str(exc)) from None


def _workflow(text: str) -> Workflow:
    """A workflow by file, else by name (``workflows/<name>.yaml``)."""
    try:
        return workflow_file(text)
    except NoWorkflowFile as exc:
        raise SystemExit(f"-w {exc}") from None


def _common(p: argparse.ArgumentParser) -> None:
    p.add_argument("--kafka", help="Kafka bootstrap servers (KAFKA_BOOTSTRAP; default: the running `up`'s)")
    p.add_argument("--event-source-url", metavar="URL",
                   help="the url of the workflow's Kafka EventSources, as Argo puts its first broker "
                        "into a plain message's event id (default: the --kafka address, as the local stacks wire it)")
    p.add_argument("--run-dir", help="the stack's run folder (FAAS_ETL_RUN_DIR; .run/)")
    p.add_argument("--timeout", type=float, default=30.0, help="seconds to read each topic to its end (30)")


def audit_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="faas-etl audit", description=(
        "Count every record on each topic of a workflow (a redelivered batch once), compare with what "
        "the next step counted and with the warehouse rows, and name every gap: topic, partition, "
        "step, expected against seen, the missing or doubled ids where they are known. Records not "
        "yet consumed by a step's EventSource group are pending, not a gap. Exit 1 on a gap."))
    p.add_argument("-w", "--workflow", action="append", default=[], metavar="WORKFLOW",
                   help="workflow name or file; repeatable (default: the running `up`'s workflows)")
    p.add_argument("--gateway", help="gateway whose replicas' counters are read (OPENFAAS_URL; the running `up`'s)")
    p.add_argument("--secrets-dir", help="folder with basic-auth-user/-password (the running `up`'s)")
    p.add_argument("--prometheus", metavar="URL", help="read the step counters from this Prometheus "
                                                       "instead of the gateway's replicas (a cluster)")
    p.add_argument("--warehouse-url", help="the sink's warehouse (WAREHOUSE_URL; the running `up`'s)")
    _common(p)
    p.add_argument("--json", action="store_true", help="print the report as JSON")
    return p


def replay_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="faas-etl replay", description=(
        "Deliver a range of a topic again, safely while everything runs: its messages are produced "
        "again to their partitions unchanged (same etl-batch ids, so the aggregate and the warehouse "
        "apply each batch at most once); --dlq puts dead letters back on their topics."))
    p.add_argument("-w", "--workflow", required=True, metavar="WORKFLOW", help="workflow name or file")
    p.add_argument("--topic", help="topic to replay (with --dlq: only letters for this topic)")
    p.add_argument("--partition", type=int, help="only this partition (default: every partition)")
    start = p.add_mutually_exclusive_group()
    start.add_argument("--from-offset", type=int, metavar="N", help="first offset to replay")
    start.add_argument("--from-time", metavar="ISO", help="replay from the first message at or after this "
                                                          "time (ISO 8601; UTC when no zone is given)")
    p.add_argument("--to-offset", type=int, metavar="M", help="stop before this offset (default: the end)")
    p.add_argument("--dlq", action="store_true", help="replay the workflow's dead letters to their topics")
    _common(p)
    p.add_argument("--json", action="store_true", help="print what was replayed as JSON")
    return p


def _records_reader(args, where: Where):
    from etlkit.controller.gateway import Gateway
    from etlkit.runs.counters import PrometheusRecords, ReplicaRecords

    if args.prometheus:
        return PrometheusRecords(args.prometheus, args.timeout)
    if where.gateway:
        return ReplicaRecords(Gateway.from_secrets(where.gateway, where.secrets_dir, timeout_s=args.timeout))
    return None


def audit_one(workflow: Workflow, where: Where, reader, event_source_url: str, timeout_s: float):
    """Gather every part of ``workflow``'s audit and return the report (I/O, then the pure audit)."""
    from etlkit.controller.errors import EdgeError
    from etlkit.warehouse import resolve_reference

    from .audit import audit, seen_of
    from .pipeline.sqldb import read_table
    from .topic_io import committed_offsets, read_topics

    unmeasured = []
    topics = [t.name for t in workflow.topics]
    messages, partitions = read_topics(where.kafka, topics, timeout_s)
    consumed = {t for s in workflow.steps for t in s.inputs} | set(workflow.sink.inputs)
    groups = {t: names.consumer_group(workflow.name, t) for t in sorted(consumed) if t in partitions}
    committed = committed_offsets(where.kafka, groups, partitions, timeout_s)
    counters = None
    if reader is None:
        unmeasured.append("step counters: no gateway or Prometheus to read them from")
    else:
        try:
            counters = reader.records(workflow.name)
        except EdgeError as exc:
            unmeasured.append(f"step counters: {exc}")
    keys = None
    try:
        url = where.warehouse_url or resolve_reference(workflow.sink.url, "sink.url", where.secrets_dir)
        key = workflow.sink.key
        keys = {str(row[key]) for row in read_table(url, workflow.sink.table, where.secrets_dir)}
    except Exception as exc:  # noqa: BLE001 - any database failure: reported as not measured
        unmeasured.append(f"warehouse {workflow.sink.table}: {type(exc).__name__}: {exc}")
    seen = {t: [seen_of(m, event_source_url) for m in ms] for t, ms in messages.items()}
    return audit(workflow, seen, partitions, committed, counters, keys, unmeasured)


def audit_main(argv: Sequence[str]) -> int:
    from .audit import render_text

    args = audit_parser().parse_args(argv)
    where = _where(args)
    chosen = args.workflow or list(where.workflows)
    if not chosen:
        print("faas-etl audit: which workflow? give -w (no running `up` lists any)", file=sys.stderr)
        return 2
    reader = _records_reader(args, where)
    reports = [audit_one(_workflow(w), where, reader, args.event_source_url or where.kafka, args.timeout)
               for w in chosen]
    if args.json:
        print(json.dumps([r.to_dict() for r in reports] if len(reports) > 1 else reports[0].to_dict()))
    else:
        print("\n".join(render_text(r) for r in reports))
    return 0 if all(r.ok for r in reports) else 1


def _time_ms(text: str) -> int:
    try:
        moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        raise SystemExit(f"--from-time {text}: not an ISO 8601 time") from None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=timezone.utc)
    return int(moment.timestamp() * 1000)


def replay_main(argv: Sequence[str]) -> int:
    from .replay import ReplayError, dead_letter_records, range_records, ranges
    from .topic_io import produce_exact, read_topics

    parser = replay_parser()
    args = parser.parse_args(argv)
    workflow = _workflow(args.workflow)
    owned = {t.name for t in workflow.topics}
    if args.dlq:
        if args.from_offset is not None or args.from_time or args.to_offset is not None:
            parser.error("--dlq replays every dead letter: no offsets or time with it")
        source = workflow.dead_letter
    else:
        if not args.topic or (args.from_offset is None and not args.from_time):
            parser.error("give --topic and one of --from-offset or --from-time (or --dlq)")
        source = args.topic
    if source not in owned or (args.dlq and args.topic and args.topic not in owned):
        parser.error(f"--topic: {args.topic} is not a topic of workflow {workflow.name}")
    where = _where(args)
    messages, partitions = read_topics(where.kafka, [source], args.timeout)
    try:
        if args.dlq:
            counts = {t.name: t.partitions for t in workflow.topics}
            records = dead_letter_records(messages[source], lambda t: counts[t], args.topic)
        else:
            chosen = [args.partition] if args.partition is not None else range(partitions[source])
            if any(p not in range(partitions[source]) for p in chosen):
                parser.error(f"--partition: {source} has partitions 0..{partitions[source] - 1}")
            spans = ranges(chosen, source, messages[source], from_offset=args.from_offset,
                           from_time_ms=_time_ms(args.from_time) if args.from_time else None,
                           to_offset=args.to_offset)
            records = range_records(messages[source], spans, args.event_source_url or where.kafka)
    except ReplayError as exc:
        print(f"faas-etl replay: {exc}", file=sys.stderr)
        return 1
    written = produce_exact(where.kafka, records, args.timeout)
    per = {}
    for rec in records:
        per[f"{rec.topic}[{rec.partition}]"] = per.get(f"{rec.topic}[{rec.partition}]", 0) + 1
    if args.json:
        print(json.dumps({"workflow": workflow.name, "from": source, "messages": written, "to": per}))
    else:
        print(f"replayed {written} messages from {source}: "
              + (", ".join(f"{n} to {t}" for t, n in sorted(per.items())) or "nothing in that range"))
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    """``audit ...`` or ``replay ...`` (what devstack.cli delegates)."""
    from etlkit.controller.errors import EdgeError

    argv = list(sys.argv[1:] if argv is None else argv)
    command, rest = (argv[0], argv[1:]) if argv else ("", [])
    run = {"audit": audit_main, "replay": replay_main}.get(command)
    if run is None:
        print("usage: faas-etl audit|replay ...", file=sys.stderr)
        return 2
    try:
        return run(rest)
    except (EdgeError, TimeoutError, RuntimeError) as exc:  # Kafka unreachable, a topic missing
        print(f"faas-etl {command}: {exc}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
