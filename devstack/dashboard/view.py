"""From collection rounds to what the page shows: pure (no I/O, the time is each round's ``at``).

:class:`Tracker` keeps a short history of totals and derives, per round:

* per topic: records produced, production rate, and backlog (the slowest watching consumer
  group's uncommitted records: where data piles up);
* per step: records in/out/filtered/dead-lettered/emitted summed over every replica that ran it
  (:class:`CounterTotals`: a replica that restarts or is scaled away keeps what it counted, as
  Prometheus's ``increase()`` would), throughput, its function's errors, its input backlog;
* per function: replicas per node, calls, rejected (4xx) and failed (5xx) calls (the gateway's);
* the controller's decisions as they happen (each tick once, with its reasons), scale events
  (a replica count that changed, attributed to the tick whose action it was), the matching plan
  (routes upstream -> downstream with flow and cost), warehouse row counts;
* chart series: one point per round.
"""
from __future__ import annotations

from collections import deque
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from .scrape import FunctionState, Samples, Scrape, StepRef, TopicState, WatchList

RECORD_KINDS = ("in", "out", "filtered", "dead_lettered", "emitted")
RECORDS_METRIC = "faas_etl_records_{}_total"
LAG_METRIC = "faas_etl_event_time_lag_seconds"
INVOCATIONS = "gateway_function_invocation_total"
SECONDS_SUM, SECONDS_COUNT = "gateway_functions_seconds_sum", "gateway_functions_seconds_count"
ATTRIBUTION_S = 60.0  # a scale event and the tick that caused it are this close in time at most
Series = tuple[str, tuple[tuple[str, str], ...]]


class CounterTotals:
    """Counter totals over replicas that come and go (resets and departures keep their counts)."""

    def __init__(self) -> None:
        self._by_series: dict[Series, dict[str, float]] = {}
        self._carried: dict[Series, float] = {}

    def update(self, per_instance: Mapping[str, Samples], names: Iterable[str]) -> None:
        wanted = set(names)
        for instance, samples in per_instance.items():
            for series, value in samples.items():
                if series[0] not in wanted:
                    continue
                seen = self._by_series.setdefault(series, {})
                previous = seen.get(instance)
                if previous is not None and value < previous:  # the replica restarted
                    self._carried[series] = self._carried.get(series, 0.0) + previous
                seen[instance] = value

    def total(self, series: Series) -> float:
        return sum(self._by_series.get(series, {}).values()) + self._carried.get(series, 0.0)

    def series(self, name: str) -> list[Series]:
        return sorted(s for s in self._by_series if s[0] == name)


@dataclass(frozen=True)
class _Point:
    at: float
    values: Mapping[str, float]


def _function_of(label: str, namespace: str) -> str:
    base, _, ns = label.partition(".")
    return base if ns in ("", namespace) else label


def _labels(series: Series) -> dict[str, str]:
    return dict(series[1])


def gateway_calls(samples: Samples, namespace: str) -> dict[str, dict[str, float]]:
    """Per function, from the gateway: calls, rejected calls (4xx: the request's fault), failed
    calls (5xx and anything else not 2xx: the function's), and seconds spent."""
    out: dict[str, dict[str, float]] = {}
    for (name, labels), value in samples.items():
        if name not in (INVOCATIONS, SECONDS_SUM, SECONDS_COUNT):
            continue
        d = dict(labels)
        fn = _function_of(d.get("function_name", ""), namespace)
        row = out.setdefault(fn, {"calls": 0.0, "rejected": 0.0, "failed": 0.0, "seconds": 0.0,
                                  "timed": 0.0})
        if name == INVOCATIONS:
            code = d.get("code", "")
            row["calls"] += value
            if code.startswith("4"):
                row["rejected"] += value
            elif not code.startswith("2"):
                row["failed"] += value
        elif name == SECONDS_SUM:
            row["seconds"] += value
        else:
            row["timed"] += value
    return out


def last_error_per_step(reported: Iterable[Mapping[str, Any]]) -> dict[tuple[str, str], dict]:
    """The newest of the replicas' last errors per (workflow, step): ``{"at", "status",
    "reason"}``. Ties go to the higher status, then the reason, so the answer is the same
    whatever order the replicas were read in."""
    out: dict[tuple[str, str], dict] = {}
    for e in reported:
        key = (str(e.get("workflow", "")), str(e.get("step", "")))
        entry = {"at": float(e.get("at", 0)), "status": int(e.get("status", 0)),
                 "reason": str(e.get("reason", ""))}
        rank = (entry["at"], entry["status"], entry["reason"])
        if key not in out or rank > (out[key]["at"], out[key]["status"], out[key]["reason"]):
            out[key] = entry
    return out


def scale_reason(decision: Mapping[str, Any], function: str, before: int, after: int) -> str | None:
    """The tick's reason for scaling ``function`` from ``before`` to ``after``, if it did."""
    action = f"scale {function} {before} -> {after}"
    if action not in decision.get("actions", ()):
        return None
    for line in decision.get("reasons", ()):
        if line.startswith(action + ":"):
            return line.split(" because ", 1)[-1]
    return decision.get("reason") or action


class Tracker:
    """Feed it every round (:meth:`update`); it answers the page's view of that round."""

    def __init__(self, watch: WatchList, *, namespace: str = "openfaas-fn",
                 history_points: int = 180, rate_window_s: float = 5.0,
                 max_events: int = 50, max_decisions: int = 30) -> None:
        self.watch, self.namespace = watch, namespace
        self.rate_window_s = rate_window_s
        self._history: deque[_Point] = deque(maxlen=history_points)
        self._points: deque[dict[str, Any]] = deque(maxlen=history_points)  # the charts' points
        self._totals = CounterTotals()
        self._replicas: dict[str, int] | None = None
        self._events: deque[dict[str, Any]] = deque(maxlen=max_events)
        self._decisions: deque[dict[str, Any]] = deque(maxlen=max_decisions)
        self._ticks_seen: set[tuple[str, float]] = set()
        self._first_at: float | None = None
        self._watch(watch)

    def _watch(self, watch: WatchList) -> None:
        """Watch ``watch`` from now on (a workflow started or stopped through the manager)."""
        self.watch = watch
        outputs = {s.output for s in watch.steps if s.output}
        # Where records enter: topics no step writes to (dead-letter topics aside).
        self._source_topics = [t for t in watch.topics
                               if t not in outputs and t not in watch.dead_letter_topics]

    # -- rates ---------------------------------------------------------------------------------
    def _rate(self, key: str, at: float, value: float) -> float:
        """Per second over the rate window (0 across a reset, or with one point only).

        A counter missing from a round after the first was 0 then: its replica had not counted
        anything yet. Missing from the first round, it is unknown (it may hold a backlog of
        counts from before the dashboard started, which is no rate)."""
        since = at - self.rate_window_s
        base = next((p for p in self._history if p.at >= since
                     and (key in p.values or p.at > self._first_at)), None)
        if base is None or at <= base.at:
            return 0.0
        before = base.values.get(key, 0.0)
        return 0.0 if value < before else (value - before) / (at - base.at)

    # -- one round -----------------------------------------------------------------------------
    def update(self, scrape: Scrape) -> dict[str, Any]:
        at = scrape.at
        if scrape.watch is not None and scrape.watch != self.watch:
            self._watch(scrape.watch)
        if self._first_at is None:
            self._first_at = at
        self._totals.update(scrape.replicas, [RECORDS_METRIC.format(k) for k in RECORD_KINDS])
        calls = gateway_calls(scrape.gateway, self.namespace)
        values: dict[str, float] = {}
        topics = self._topics(scrape.topics, values)
        steps = self._steps(scrape, calls, values)
        functions = self._functions(scrape.functions, calls, values)
        self._note_decisions(scrape.controller)
        self._note_scaling(scrape.functions, at)
        rates = {k: self._rate(k, at, v) for k, v in values.items()}
        for row in topics:
            row["rate"] = rates.get(f"topic:{row['name']}", 0.0)
        for row in steps:
            row["rate_in"] = rates.get(f"step:{row['workflow']}/{row['name']}:in", 0.0)
        for row in functions:
            row["rate"] = rates.get(f"fn:{row['name']}:calls", 0.0)
        point = {"t": at,
                 "topic_rate": {r["name"]: round(r["rate"], 3) for r in topics},
                 "topic_backlog": {r["name"]: r["backlog"] for r in topics},
                 "step_rate": {f"{r['workflow']}/{r['name']}": round(r["rate_in"], 3) for r in steps},
                 "replicas": {r["name"]: r["replicas"] for r in functions}}
        self._history.append(_Point(at, values))
        self._points.append(point)
        warehouse = [{"table": t, "rows": n} for t, n in sorted(scrape.warehouse.items())]
        dead = [r for r in topics if r["dead_letter"]]
        sources = self._source_topics or [r["name"] for r in topics if not r["dead_letter"]]
        return {
            "at": at,
            "workflows": list(self.watch.workflows),
            # Each workflow whole: who started it, its topics and its warehouse table (the rows
            # of "topics" and "warehouse" hold their numbers).
            "workflow_parts": [{"name": m.name, "started_by": m.started_by, "state": m.state,
                                "topics": list(m.topics), "table": m.table} for m in self.watch.members],
            "errors": dict(sorted(scrape.errors.items())),
            "totals": {"ingest_rate": round(sum(r["rate"] for r in topics if r["name"] in sources), 3),
                       "backlog": sum(r["backlog"] for r in topics if not r["dead_letter"]),
                       "dead_letters": sum(r["records"] for r in dead),
                       "replicas": sum(r["replicas"] for r in functions),
                       "rows": sum(r["rows"] or 0 for r in warehouse),
                       "failed_calls": sum(r["failed"] for r in functions)},
            "topics": topics, "steps": steps, "functions": functions,
            "nodes": sorted({n for r in functions for n in r["nodes"]}),
            "decisions": list(reversed(self._decisions)),
            "events": list(reversed(self._events)),
            "plan": self._plan(scrape.controller),
            "warehouse": warehouse,
            "point": point,
        }

    def series(self) -> list[dict[str, Any]]:
        """Every kept point, oldest first (the page's charts on first load)."""
        return list(self._points)

    # -- parts ---------------------------------------------------------------------------------
    def _topics(self, states: Mapping[str, TopicState], values: dict[str, float]) -> list[dict]:
        order = list(self.watch.topics) or sorted(states)
        dead_letter = set(self.watch.dead_letter_topics)
        rows = []
        for name in order:
            state = states.get(name)
            if state is None:
                rows.append({"name": name, "exists": False, "partitions": 0, "records": 0,
                             "backlog": 0, "groups": [], "dead_letter": name in dead_letter})
                continue
            groups = [{"group": g, "lag": state.lag(g)} for g in self.watch.groups.get(name, ())]
            values[f"topic:{name}"] = float(state.records)
            rows.append({"name": name, "exists": True, "partitions": len(state.high),
                         "records": state.records, "backlog": max((g["lag"] for g in groups), default=0),
                         "groups": groups, "dead_letter": name in dead_letter})
        return rows

    def _steps(self, scrape: Scrape, calls: Mapping[str, Mapping[str, float]],
               values: dict[str, float]) -> list[dict]:
        known = {(s.workflow, s.name): s for s in self.watch.steps}
        found = {(_labels(s).get("workflow", ""), _labels(s).get("step", ""))
                 for s in self._totals.series(RECORDS_METRIC.format("in"))}
        # Steps of the watched workflows first, in pipeline order; then what else counts records
        # (source functions, steps of other workflows), by name.
        refs = list(self.watch.steps) + [StepRef(wf, step, "source" if not wf else "step", "", (), None)
                                         for wf, step in sorted(found - set(known))]
        lags = self._lags(scrape)
        last_errors = last_error_per_step(scrape.call_errors)
        topics = scrape.topics
        rows = []
        reported = set(found)
        for ref in refs:
            labels = (("step", ref.name), ("workflow", ref.workflow))
            # None: no replica of its function ever reported this step (a function built
            # without the step counters), which the page shows as unknown, not as zero.
            counts: dict[str, int | None] = {
                k: int(self._totals.total((RECORDS_METRIC.format(k), labels)))
                if (ref.workflow, ref.name) in reported else None for k in RECORD_KINDS}
            backlog = 0
            for topic in ref.inputs:
                state = topics.get(topic)
                if state is not None:
                    backlog += max((state.lag(g) for g in self.watch.groups.get(topic, ())), default=0)
            key = f"step:{ref.workflow}/{ref.name}"
            if counts["in"] is not None:
                values[f"{key}:in"] = float(counts["in"])
            fn = calls.get(ref.function, {})
            rows.append({"workflow": ref.workflow, "name": ref.name, "kind": ref.kind,
                         "function": ref.function, **counts, "backlog": backlog,
                         "errors": int(fn.get("rejected", 0) + fn.get("failed", 0)),
                         "event_lag_s": lags.get((ref.workflow, ref.name)),
                         "last_error": last_errors.get((ref.workflow, ref.name))})
        return rows

    @staticmethod
    def _lags(scrape: Scrape) -> dict[tuple[str, str], float]:
        """The largest event-time lag any replica reports per step (the slowest replica)."""
        out: dict[tuple[str, str], float] = {}
        for samples in scrape.replicas.values():
            for (name, labels), value in samples.items():
                if name == LAG_METRIC:
                    d = dict(labels)
                    key = (d.get("workflow", ""), d.get("step", ""))
                    out[key] = max(out.get(key, 0.0), value)
        return out

    def _functions(self, functions: Iterable[FunctionState], calls: Mapping[str, Mapping[str, float]],
                   values: dict[str, float]) -> list[dict]:
        rows = []
        for fn in functions:
            nodes: dict[str, int] = {}
            for instance in fn.instances:
                nodes[instance.node] = nodes.get(instance.node, 0) + 1
            c = calls.get(fn.name, {})
            values[f"fn:{fn.name}:calls"] = c.get("calls", 0.0)
            rows.append({"name": fn.name, "replicas": fn.replicas, "available": fn.available,
                         "nodes": dict(sorted(nodes.items())), "invocations": int(c.get("calls", 0)),
                         "rejected": int(c.get("rejected", 0)), "failed": int(c.get("failed", 0)),
                         "mean_ms": round(1000 * c["seconds"] / c["timed"], 2) if c.get("timed") else None})
        return rows

    def _note_decisions(self, controller: Mapping[str, Mapping[str, Any] | None]) -> None:
        for workflow, status in sorted(controller.items()):
            tick = (status or {}).get("last_tick")
            if not tick or (workflow, tick.get("at")) in self._ticks_seen:
                continue
            self._ticks_seen.add((workflow, tick.get("at")))
            decision = {"workflow": workflow, "at": tick.get("at"), "status": tick.get("status"),
                        "reason": tick.get("reason", ""), "reasons": list(tick.get("reasons", ())),
                        "actions": list(tick.get("actions", ())),
                        "targets": dict(tick.get("targets", {}))}
            self._decisions.append(decision)
            for event in self._events:  # a scale seen before its tick's status was readable
                if event["by"] is None and abs((decision["at"] or 0) - event["at"]) <= ATTRIBUTION_S:
                    self._attribute(event, decision)

    def _attribute(self, event: dict[str, Any], decision: Mapping[str, Any]) -> None:
        reason = scale_reason(decision, event["function"], event["before"], event["after"])
        if reason is not None:
            event.update(by=f"autoscaler ({decision['workflow']})", reason=reason)

    def _note_scaling(self, functions: Iterable[FunctionState], at: float) -> None:
        now = {fn.name: fn.replicas for fn in functions}
        if self._replicas is not None and now:
            for name, after in sorted(now.items()):
                before = self._replicas.get(name)
                if before is None or before == after:
                    continue
                event = {"at": at, "function": name, "before": before, "after": after,
                         "by": None, "reason": ""}
                for decision in reversed(self._decisions):
                    if abs((decision["at"] or 0) - at) <= ATTRIBUTION_S:
                        self._attribute(event, decision)
                        if event["by"]:
                            break
                self._events.append(event)
        if now:
            self._replicas = now

    @staticmethod
    def _plan(controller: Mapping[str, Mapping[str, Any] | None]) -> list[dict]:
        """The routes the last applied tick planned, per workflow: a graph of services."""
        links = []
        for workflow, status in sorted(controller.items()):
            for route in (status or {}).get("routes", ()):
                links.append({"workflow": workflow, "upstream": route["upstream"],
                              "downstream": route["downstream"], "algorithm": route.get("algorithm", ""),
                              "total_flow": round(route.get("total_flow", 0.0), 3),
                              "total_cost": round(route.get("total_cost", 0.0), 3),
                              "cost_per_record": round(route.get("cost_per_record", 0.0), 3),
                              "flows": [{"from": u, "from_node": un, "to": d, "to_node": dn,
                                         "rate": round(r, 3), "cost": c}
                                        for u, un, d, dn, r, c in route.get("flows", ())]})
        return links
