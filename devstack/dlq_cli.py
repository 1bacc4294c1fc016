"""``faas-etl dlq list|replay -w WORKFLOW``: a workflow's dead letters, chosen by step, reason
and time, listed or put back on their topics.

``replay`` is :func:`devstack.replay.dead_letter_records` (what ``faas-etl replay --dlq`` does)
with the same choice: each letter goes back under an id derived from where it sits on the
dead-letter topic, so replaying it twice, or in two selections, is recognised by the
idempotent consumers (the aggregate, the warehouse) and lands once. Replay after fixing what
dead-lettered the records (``faas-etl workflow apply`` + ``start``), or they come back as letters.
Exit codes: 0 done, 1 a failure, 2 usage.
"""
from __future__ import annotations

import argparse
import json
import sys
from dataclasses import dataclass
from typing import Any, Mapping, Sequence

from etlkit import wire
from etlkit.controller.errors import EdgeError
from etlkit.sources.records import RecordError, epoch_ms

from .audit import RawMessage
from .replay import ReplayError, dead_letter_records
from .stack_address import NoStack, add_kafka_option, add_run_dir_option, where
from .topic_io import produce_exact, read_topics
from .workflow_files import NoWorkflowFile, workflow_file


@dataclass(frozen=True)
class Choice:
    """Which letters: of ``step``, whose reason contains ``reason``, dead-lettered in
    ``[since_ms, until_ms)``; None chooses any."""

    step: str | None = None
    reason: str | None = None
    since_ms: int | None = None
    until_ms: int | None = None

    def keeps(self, letter: Mapping[str, Any], stamp_ms: int | None = None) -> bool:
        at = letter_time(letter, stamp_ms)
        return ((self.step is None or letter.get("step") == self.step)
                and (self.reason is None or self.reason in str(letter.get("reason", "")))
                and (self.since_ms is None or (at is not None and at >= self.since_ms))
                and (self.until_ms is None or (at is not None and at < self.until_ms)))


def letter_time(letter: Mapping[str, Any], stamp_ms: int | None = None) -> int | None:
    """When a letter was written: its ``at`` (epoch ms, a Sensor's as digit text), else the
    message's timestamp."""
    at = letter.get("at")
    if type(at) is int:
        return at
    if isinstance(at, str) and at.isdigit():
        return int(at)
    return stamp_ms


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="faas-etl dlq", description=(
        "A workflow's dead letters: list them with their step and reason, or put them back on "
        "their topics (safe: a letter replayed again lands once)."))
    sub = p.add_subparsers(dest="action", required=True, metavar="ACTION")
    sub.add_parser("list", help="the letters: where, step, reason, when, the record")
    sub.add_parser("replay", help="the letters' records back to the topics they failed on")
    for action in sub.choices.values():
        action.add_argument("-w", "--workflow", required=True, metavar="WORKFLOW", help="workflow name or file")
        action.add_argument("--step", help="only the letters of this step (or source)")
        action.add_argument("--reason", metavar="TEXT", help="only letters whose reason contains TEXT")
        action.add_argument("--since", metavar="TIME", help="only letters written at or after this time "
                                                            "(ISO 8601, UTC without a zone; or epoch ms)")
        action.add_argument("--until", metavar="TIME", help="only letters written before this time")
        add_kafka_option(action)
        add_run_dir_option(action)
        action.add_argument("--timeout", type=float, default=30.0, help="seconds to read the topic (30)")
        action.add_argument("--json", action="store_true", help="print JSON")
    return p


def choice_of(args: argparse.Namespace) -> Choice:
    times = {}
    for name in ("since", "until"):
        text = getattr(args, name)
        try:
            times[name] = None if text is None else epoch_ms(text)
        except RecordError as exc:
            raise ValueError(f"--{name} {text}: {exc}") from None
    return Choice(args.step, args.reason, times["since"], times["until"])


def letters_of(messages: Sequence[RawMessage], choice: Choice) -> list[dict[str, Any]]:
    """The chosen letters of the dead-letter topic's ``messages``, each with where it sits."""
    out = []
    for m in sorted(messages, key=lambda m: (m.partition, m.offset)):
        try:
            _identity, entries, _end = wire.unbatch(m.value, m.headers, m.key, m.timestamp_ms)
        except ValueError:
            continue  # not a letter: nothing to list or replay
        for index, entry in enumerate(entries):
            letter = entry.get("value")
            if isinstance(letter, dict) and choice.keeps(letter, m.timestamp_ms):
                out.append({"partition": m.partition, "offset": m.offset, "index": index,
                            "step": letter.get("step"), "reason": letter.get("reason"),
                            "at": letter_time(letter, m.timestamp_ms), "topic": letter.get("topic"),
                            "key": letter.get("key"), "payload": letter.get("payload")})
    return out


def run(args: argparse.Namespace) -> int:
    try:
        choice = choice_of(args)
        workflow = workflow_file(args.workflow)
        kafka = where(args).kafka
        messages, _ = read_topics(kafka, [workflow.dead_letter], args.timeout)
        letters = messages[workflow.dead_letter]
        if args.action == "list":
            chosen = letters_of(letters, choice)
            if args.json:
                print(json.dumps(chosen))
            else:
                for d in chosen:
                    payload = json.dumps(d["payload"], separators=(",", ":"), ensure_ascii=False)
                    print(f"{workflow.dead_letter}[{d['partition']}]@{d['offset']}#{d['index']} {d['step']}: "
                          f"{d['reason']}  (to {d['topic']}, at {d['at']})  {payload}")
                print(f"{len(chosen)} dead letter(s)", file=sys.stderr)
            return 0
        counts = {t.name: t.partitions for t in workflow.topics}
        records = dead_letter_records(letters, lambda t: counts[t], keep=choice.keeps)
        written = produce_exact(kafka, records, args.timeout)
        per: dict[str, int] = {}
        for rec in records:
            n = len(wire.unbatch(rec.value, rec.headers)[1])
            per[rec.topic] = per.get(rec.topic, 0) + n
        if args.json:
            print(json.dumps({"workflow": workflow.name, "messages": written, "records": per}))
        else:
            print(f"replayed {sum(per.values())} dead-lettered record(s) in {written} message(s): "
                  + (", ".join(f"{n} to {t}" for t, n in sorted(per.items())) or "none chosen"))
        return 0
    except KeyError as exc:
        print(f"faas-etl dlq {args.action}: a letter names topic {exc}, not one of workflow "
              f"{args.workflow}'s", file=sys.stderr)
        return 1
    except (NoStack, NoWorkflowFile, ReplayError, EdgeError, TimeoutError, RuntimeError, ValueError) as exc:
        print(f"faas-etl dlq {args.action}: {exc}", file=sys.stderr)
        return 1


def main(argv: Sequence[str] | None = None) -> int:
    return run(build_parser().parse_args(argv))


if __name__ == "__main__":
    sys.exit(main())
