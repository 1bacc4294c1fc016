"""The report of a chaos run: availability per component and overall, recovery per fault, the
data check and the dead letters, as one JSON document and as text. Pure."""
from __future__ import annotations

import dataclasses
from collections import Counter
from dataclasses import dataclass
from typing import Any, Mapping, Sequence

from . import measure
from .config import ChaosConfig
from .datacheck import DataCheck, LetterCheck
from .measure import READ, WRITE, Fault, Op, Read

WRITE_GOAL = 0.999  # the goal for writes across a warehouse restart


@dataclass(frozen=True)
class ChaosReport:
    doc: dict[str, Any]

    @property
    def data_ok(self) -> bool:
        return bool(self.doc["data"]["ok"])

    def text(self) -> str:
        return render_text(self.doc)


def _pct(value: float | None) -> str:
    return "-" if value is None else f"{100 * value:.3f}%"


def _secs(value: float | None) -> str:
    return "not seen" if value is None else f"{value:.2f}s"


def build_report(config: ChaosConfig, window: float, ops: Sequence[Op], reads: Sequence[Read],
                 faults: Sequence[Fault], created_at: Mapping[int, float], check: DataCheck,
                 letters: Sequence[Any], *, rejected: Mapping[str, str], drained_s: float,
                 components: Sequence[str], runner_starts: int,
                 when: Mapping[str, Sequence[Mapping[str, Any]]] | None = None,
                 letter_check: LetterCheck | None = None) -> ChaosReport:
    outs = []
    for kind in (WRITE, READ):
        outs += measure.attribute(measure.outages(ops, kind, config.slow_s, window), faults)
    recs = measure.recoveries(faults, outs, reads, dict(created_at))
    rows = measure.per_component(components, faults, outs, recs, window)
    by_kind = {kind: [o for o in outs if o.kind == kind] for kind in (WRITE, READ)}
    attempts = {kind: [o for o in ops if o.kind == kind] for kind in (WRITE, READ)}
    fresh = measure.freshness(reads, dict(created_at))
    warehouse_write = next((r for r in rows if r.component == "warehouse"), None)
    reasons = Counter(str(letter.get("reason", "?")) if isinstance(letter, dict) else "not JSON"
                      for letter in letters)
    doc = {
        "config": {k: v for k, v in dataclasses.asdict(config).items() if k != "extra"},
        "window_s": round(window, 3),
        "overall": {
            kind: {"availability": measure.availability(by_kind[kind], window),
                   "outage_s": round(measure.clipped_seconds(by_kind[kind], window), 3),
                   "longest_outage_s": round(max((o.seconds for o in by_kind[kind]), default=0.0), 3),
                   "outages": len(by_kind[kind]),
                   "attempts": len(attempts[kind]),
                   "failed_attempts": sum(not o.ok for o in attempts[kind]),
                   "slow_attempts": sum(o.ok and o.end - o.start > config.slow_s
                                        for o in attempts[kind])}
            for kind in (WRITE, READ)},
        "goal": {"write_availability_across_warehouse_restart": WRITE_GOAL,
                 "met": warehouse_write is not None and warehouse_write.write_availability >= WRITE_GOAL},
        "components": [dataclasses.asdict(r) for r in rows],
        "faults": [dataclasses.asdict(r) for r in recs],
        "outages": [{**dataclasses.asdict(o), "seconds": round(o.seconds, 3)} for o in outs],
        "freshness": dataclasses.asdict(fresh),
        "data": {**{k: v for k, v in dataclasses.asdict(check).items() if k != "samples"},
                 "samples": {k: list(v) for k, v in check.samples.items()},
                 "sample_times": {k: list(v) for k, v in (when or {}).items()},
                 "ok": check.ok and (letter_check is None or letter_check.ok),
                 "rejected_by_ingest": len(rejected),
                 "rejection_samples": sorted(set(rejected.values()))[:5],
                 "drained_s": round(drained_s, 3)},
        "dead_letters": {"count": len(letters), "reasons": dict(reasons.most_common()),
                         **({"check": {**dataclasses.asdict(letter_check), "ok": letter_check.ok}}
                            if letter_check is not None else {})},
        "runner_starts": runner_starts,
    }
    return ChaosReport(doc)


def render_text(doc: Mapping[str, Any]) -> str:
    out = []
    overall, data = doc["overall"], doc["data"]
    out.append(f"chaos run: {doc['window_s']:.1f}s measured, {len(doc['faults'])} faults "
               f"(slower than {doc['config']['slow_s']:g}s counts as unavailable)")
    out.append("")
    out.append(f"{'component':<20} {'faults':>6} {'write avail':>12} {'read avail':>12} "
               f"{'longest out':>12} {'recovery':>9} {'data flow':>10}")
    for row in doc["components"]:
        out.append(f"{row['component']:<20} {row['faults']:>6} {_pct(row['write_availability']):>12} "
                   f"{_pct(row['read_availability']):>12} {row['longest_outage_s']:>11.2f}s "
                   f"{row['worst_recovery_s']:>8.2f}s {_secs(row['worst_flow_recovery_s']):>10}")
    out.append(f"{'overall':<20} {len(doc['faults']):>6} {_pct(overall['write']['availability']):>12} "
               f"{_pct(overall['read']['availability']):>12} "
               f"{max(overall['write']['longest_outage_s'], overall['read']['longest_outage_s']):>11.2f}s")
    for kind in ("write", "read"):
        o = overall[kind]
        out.append(f"  {kind}s: {o['attempts']} attempts, {o['failed_attempts']} failed, "
                   f"{o['slow_attempts']} slow; {o['outages']} outages, {o['outage_s']:.2f}s in all")
    baseline = [o for o in doc["outages"] if o["cause"] == measure.BASELINE]
    if baseline:
        out.append(f"  outages with no fault to blame: {len(baseline)} "
                   f"({sum(o['seconds'] for o in baseline):.2f}s)")
    fresh = doc["freshness"]
    if fresh["median_s"] is not None:
        out.append(f"  warehouse behind the writers: median {fresh['median_s']:.2f}s, "
                   f"p99 {fresh['p99_s']:.2f}s, max {fresh['max_s']:.2f}s")
    goal = doc["goal"]
    out.append(f"  goal: write availability >= {_pct(goal['write_availability_across_warehouse_restart'])} "
               f"across a warehouse restart: {'met' if goal['met'] else 'NOT met'}")
    out.append("")
    out.append("faults:")
    for f in doc["faults"]:
        out.append(f"  {f['at']:7.1f}s {f['label']:<22} action {f['action_s']:5.2f}s  "
                   f"write out {f['write_outage_s']:5.2f}s  read out {f['read_outage_s']:5.2f}s  "
                   f"recovered {f['recovery_s']:5.2f}s  data flow {_secs(f['flow_recovery_s'])}")
        out.append(f"           {f['detail']}")
    out.append("")
    verdict = "OK" if data["ok"] else "FAILED"
    out.append(f"data check: {verdict}: {data['created']} records created, {data['acknowledged']} "
               f"acknowledged, {data['unacknowledged']} unacknowledged "
               f"({data['unacknowledged_landed']} of those landed anyway)")
    out.append(f"  warehouse rows {data['warehouse_rows']}: missing {data['missing']}, duplicates "
               f"{data['duplicates']}, corrupted {data['corrupted']}, unexpected {data['unexpected']}")
    out.append(f"  checksum of acknowledged records {data['checksum_acknowledged'][:16]}, "
               f"of their warehouse rows {data['checksum_warehouse'][:16]}"
               f" ({'equal' if data['checksum_acknowledged'] == data['checksum_warehouse'] else 'DIFFERENT'})")
    for name, ids in data["samples"].items():
        out.append(f"  {name}: {', '.join(ids)}")
        times = data.get("sample_times", {}).get(name) or []
        if times:
            out.append("    created/acknowledged at: " + ", ".join(
                f"{t['created_s']}s/{t['acked_s']}s" for t in times))
    if data["rejected_by_ingest"]:
        out.append(f"  rejected by ingest: {data['rejected_by_ingest']} "
                   f"({'; '.join(data['rejection_samples'])})")
    letters = doc["dead_letters"]
    out.append(f"dead letters: {letters['count']}"
               + "".join(f"\n  {n} x {reason}" for reason, n in letters["reasons"].items()))
    lc = letters.get("check")
    if lc:
        out.append(f"  letter check: {'OK' if lc['ok'] else 'FAILED'}: {lc['expected']} bad records "
                   f"acknowledged, {lc['letters']} letters ({lc['copies']} copies under a known id): "
                   f"missing {lc['missing']}, doubled {lc['doubled']}, without reason "
                   f"{lc['without_reason']}, unexpected {lc['unexpected']}")
        for name, ids in lc["samples"].items():
            out.append(f"  letters {name}: {', '.join(ids)}")
    return "\n".join(out)
