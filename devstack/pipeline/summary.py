"""The summary of a workflow run: one JSON-ready dict, and the table printed from it (pure)."""
from __future__ import annotations

from typing import Any, Mapping, Sequence

from .books import Books


def summary_of(workflow: str, books: Books, *, table: str, warehouse: str, elapsed_s: float,
               throughput: tuple[int, float], skipped: Sequence[Mapping[str, str]] = (),
               runner: Mapping[str, Mapping[str, int]] | None = None,
               notes: Sequence[str] = ()) -> dict[str, Any]:
    """Everything a run reports, plain values only (``--json`` prints exactly this).

    ``throughput``: the source records and the seconds from the first one sent until every
    consumer group had caught up (group joins and the wait for a SQL tick included).
    """
    records, seconds = throughput
    return {
        "workflow": workflow,
        "ok": books.balanced,
        "sources": [{"name": s.name, "kind": s.kind, "sent": s.sent, "on_topic": s.on_topic,
                     "rejected": s.rejected, "dead_lettered": s.dead_lettered, "balanced": s.balanced}
                    for s in books.sources],
        "steps": [{"name": s.name, "kind": s.kind, "in": s.in_, "out": s.out, "filtered": s.filtered,
                   "dead_lettered": s.dead_lettered, "emitted": s.emitted, "balanced": s.balanced,
                   "problems": list(s.problems)} for s in books.steps],
        "dead_letters": [{"step": step, "reason": reason, "count": n} for step, reason, n in books.dead_letters],
        "warehouse": {"table": table, "rows": books.warehouse_rows, "url": warehouse},
        "elapsed_s": round(elapsed_s, 2),
        "data_path": {"records": records, "seconds": round(seconds, 2),
                      "records_per_s": round(records / seconds, 1) if seconds > 0 else 0.0},
        "skipped_sensors": list(skipped),
        "runner": {name: dict(c) for name, c in (runner or {}).items()},
        "notes": list(notes),
        "problems": list(books.problems),
    }


def _table(headers: Sequence[str], rows: Sequence[Sequence[Any]]) -> list[str]:
    cells = [[str(c) for c in row] for row in rows]
    widths = [max(len(h), *(len(r[i]) for r in cells)) if cells else len(h) for i, h in enumerate(headers)]

    def line(values: Sequence[str]) -> str:
        # First column left-aligned (names), the rest right-aligned (numbers).
        return "  " + "  ".join(v.ljust(w) if i < 2 else v.rjust(w)
                                for i, (v, w) in enumerate(zip(values, widths))).rstrip()
    return [line(headers), *(line(r) for r in cells)]


def render_summary(summary: Mapping[str, Any]) -> str:
    """The human summary of :func:`summary_of`: sources, steps, dead letters, warehouse, rate."""
    verdict = ("OK: the books balance" if summary["ok"]
               else "MISMATCH: the books do not balance (see problems)")
    out = [f"faas-etl run: workflow {summary['workflow']}: {verdict}", ""]
    out += _table(("source", "kind", "sent", "on topic", "rejected", "dead-lettered", "balanced"),
                  [(s["name"], s["kind"], s["sent"], s["on_topic"], s["rejected"], s["dead_lettered"],
                    "yes" if s["balanced"] else "NO") for s in summary["sources"]])
    out.append("")
    out += _table(("step", "kind", "in", "out", "filtered", "dead-lettered", "emitted", "balanced"),
                  [(s["name"], s["kind"], s["in"], s["out"], s["filtered"], s["dead_lettered"],
                    s["emitted"], "yes" if s["balanced"] else "NO") for s in summary["steps"]])
    out += ["", "dead letters by reason:"]
    out += _table(("step", "reason", "count"),
                  [(d["step"], d["reason"], d["count"]) for d in summary["dead_letters"]]) \
        if summary["dead_letters"] else ["  none"]
    wh = summary["warehouse"]
    path = summary["data_path"]
    out += ["", f"warehouse: {wh['rows']} rows in {wh['table']} ({wh['url']})",
            f"throughput: {path['records_per_s']:,.0f} records/s end to end ({path['records']} source "
            f"records, {path['seconds']} s from the first sent until every consumer group caught up)",
            f"elapsed: {summary['elapsed_s']} s (topics and manifests to books)"]
    for skipped in summary["skipped_sensors"]:
        out.append(f"not run: Sensor {skipped['sensor']} ({skipped['reason']})")
    out += [f"note: {n}" for n in summary["notes"]]
    problems = list(summary["problems"]) + [p for s in summary["steps"] for p in s["problems"]]
    out += [f"problem: {p}" for p in problems]
    return "\n".join(out)
