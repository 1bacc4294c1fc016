"""What the orders workflow must produce, worked out from its inputs in plain Python.

Written from the workflow's rules (workflows/orders.yaml), not with the step library, so the
end-to-end tests compare the deployed pipeline against an independent answer: for every input
order its fate (filtered, dead-lettered by a step with a reason, or counted in a window), and
the window rows the warehouse must hold.

The sample both orders end-to-end tests feed (``SAMPLE``: on the local Argo Events runner,
test_orders_workflow.py; on the real Argo Events processes, test_orders_real.py) and the checks
they share (``assert_*``) are here too, so both runs are held to the very same answers.
"""
from __future__ import annotations

import csv
import io
import pathlib
import sqlite3
from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Any, Iterable, Mapping

import psycopg
import pytest

from devstack.demo import LEGACY_COLUMNS, Sample

REPO = pathlib.Path(__file__).resolve().parents[2]
WINDOW_MS = 60_000
HTTP_ORDERS, LEGACY_ROWS = 200, 100
SAMPLE = Sample.of(HTTP_ORDERS, LEGACY_ROWS)


@dataclass
class Expected:
    filtered: int = 0
    dead: Counter = field(default_factory=Counter)  # (step, reason) -> count
    windows: dict[str, dict[str, Any]] = field(default_factory=dict)  # window_id -> row

    def dead_at(self, step: str) -> int:
        return sum(n for (s, _reason), n in self.dead.items() if s == step)


def customers() -> dict[str, str]:
    with open(REPO / "workflows" / "data" / "customers.csv", newline="") as f:
        return {row["customer_id"]: row["country"] for row in csv.DictReader(f)}


def csv_orders(expected: Expected) -> list[dict[str, Any]]:
    """The CSV's orders, cells typed as `infer_types` does; short lines dead-lettered."""
    text = (REPO / "workflows" / "data" / "orders.csv").read_text()
    rows = list(csv.reader(io.StringIO(text)))
    header, out = rows[0], []
    for line, cells in enumerate(rows[1:], start=2):
        if len(cells) != len(header):
            expected.dead[("orders-csv", f"line {line}: expected {len(header)} fields as in the header, "
                                         f"got {len(cells)}")] += 1
            continue
        out.append({name: _infer(cell) for name, cell in zip(header, cells)})
    return out


def _infer(cell: str) -> Any:
    if cell == "":
        return None
    for kind in (int, float):
        try:
            return kind(cell)
        except ValueError:
            pass
    return cell


def _millis(text: str) -> int:
    return int(datetime.strptime(text, "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=timezone.utc).timestamp() * 1000)


def follow(orders: Iterable[dict[str, Any]], expected: Expected) -> Expected:
    """Each order through paid-only, normalise, with-customer and per-country."""
    country_of = customers()
    for order in orders:
        amount = order.get("amount")
        if isinstance(amount, str):
            try:
                amount = float(amount)
            except ValueError:
                expected.dead[("paid-only", f"'number(amount)': cannot cast string '{amount}' to float")] += 1
                continue
        if not (amount is not None and amount > 0 and order.get("status") in ("paid", "shipped")):
            expected.filtered += 1
            continue
        when = order.get("ordered_at")
        try:
            moment = None if when is None else _millis(when)
        except ValueError:
            expected.dead[("normalise", f"field ordered_at: cannot cast string '{when}' to timestamp "
                                        "(expected ISO-8601 text or epoch milliseconds)")] += 1
            continue
        if int(order["quantity"]) == 0:
            expected.dead[("normalise", "derive unit_price: 'amount / quantity': division by zero")] += 1
            continue
        customer = order.get("customer_id", order.get("cust_id"))
        if customer is None:
            expected.dead[("with-customer", "join key customer_id: is null")] += 1
            continue
        if customer not in country_of:
            expected.dead[("with-customer", f"join key customer_id: no row for '{customer}'")] += 1
            continue
        if moment is None:
            expected.dead[("per-country", "event time field ordered_at: missing")] += 1
            continue
        start = moment - moment % WINDOW_MS
        country = country_of[customer]
        window = expected.windows.setdefault(f"{country}/{start}", {
            "window_id": f"{country}/{start}", "country": country, "window_start": start,
            "window_end": start + WINDOW_MS, "orders": 0, "revenue": 0.0, "items": 0})
        window["orders"] += 1
        window["revenue"] += float(amount)
        window["items"] += int(order["quantity"])
    return expected


def _expected() -> Expected:
    expected = Expected()
    legacy = [dict(zip([c for c, _ in LEGACY_COLUMNS], row)) for row in SAMPLE.legacy]
    return follow([*SAMPLE.http, *csv_orders(expected), *legacy], expected)


EXPECTED = _expected()


# -- the checks both end-to-end runs of SAMPLE share --------------------------------------------
def warehouse_rows(url: str) -> dict[str, dict]:
    """``orders_by_country`` by window id, from SQLite or PostgreSQL."""
    if url.startswith("sqlite:///"):
        with sqlite3.connect(url[len("sqlite:///"):]) as db:
            db.row_factory = sqlite3.Row
            return {r["window_id"]: dict(r) for r in db.execute("SELECT * FROM orders_by_country")}
    with psycopg.connect(url, row_factory=psycopg.rows.dict_row) as db:
        return {r["window_id"]: dict(r) for r in db.execute("SELECT * FROM orders_by_country")}


def assert_windows(rows: Mapping[str, Mapping[str, Any]]) -> None:
    """Exactly EXPECTED's window rows (revenue to 1e-6)."""
    # Messages spelled out: this module is not a test module, so pytest does not rewrite its asserts.
    assert sorted(rows) == sorted(EXPECTED.windows), (
        f"windows missing: {sorted(set(EXPECTED.windows) - set(rows))}, "
        f"unexpected: {sorted(set(rows) - set(EXPECTED.windows))}")
    for window_id, want in EXPECTED.windows.items():
        got = rows[window_id]
        fields = ("country", "window_start", "window_end", "orders", "items")
        assert {k: got[k] for k in fields} == {k: want[k] for k in fields}, (window_id, dict(got), want)
        assert got["revenue"] == pytest.approx(want["revenue"], abs=1e-6), (window_id, got["revenue"], want["revenue"])


def assert_dead_letters(letters: Iterable[Mapping[str, Any]]) -> None:
    """Exactly EXPECTED's dead letters by (step, reason), one of each fault at its step."""
    got = Counter((letter["step"], letter["reason"]) for letter in letters)
    assert got == EXPECTED.dead, (f"missing: {dict(EXPECTED.dead - got)}, unexpected: {dict(got - EXPECTED.dead)}")
    assert {step for step, _ in got} == {"orders-csv", "paid-only", "normalise", "with-customer", "per-country"}


def assert_books(summary: Mapping[str, Any]) -> None:
    """A run's summary balances with the counts SAMPLE implies, step by step and per source."""
    assert summary["ok"] is True, summary["problems"] + [p for s in summary["steps"] for p in s["problems"]]
    steps = {s["name"]: s for s in summary["steps"]}
    for step in steps.values():
        assert step["in"] == step["out"] + step["filtered"] + step["dead_lettered"], step
    raw = HTTP_ORDERS + 200 + LEGACY_ROWS  # 200 of the CSV's 201 lines parse; no record closes windows
    want = {}
    flow = raw
    for name in ("paid-only", "normalise", "with-customer", "per-country"):
        filtered = EXPECTED.filtered if name == "paid-only" else 0
        dead = EXPECTED.dead_at(name)
        want[name] = (flow, flow - filtered - dead, filtered, dead)
        flow -= filtered + dead
    windows = len(EXPECTED.windows)
    want["sink"] = (windows, windows, 0, 0)
    got = {n: (s["in"], s["out"], s["filtered"], s["dead_lettered"]) for n, s in steps.items()}
    assert got == want, ("(in, out, filtered, dead_lettered) per step", got, want)
    # The end of input closed every window, the last ones too: all emitted, none left open.
    assert steps["per-country"]["emitted"] == windows, (steps["per-country"]["emitted"], windows)
    sources = {s["name"]: (s["sent"], s["on_topic"], s["dead_lettered"]) for s in summary["sources"]}
    want_sources = {"orders-api": (HTTP_ORDERS, HTTP_ORDERS, 0), "orders-csv": (201, 200, 1),
                    "legacy-orders": (LEGACY_ROWS, LEGACY_ROWS, 0)}
    assert sources == want_sources, ("(sent, on_topic, dead_lettered) per source", sources, want_sources)
    assert summary["warehouse"]["rows"] == windows, (summary["warehouse"], windows)
