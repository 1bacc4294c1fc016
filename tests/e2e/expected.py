"""What the orders workflow must produce, worked out from its inputs in plain Python.

Written from the workflow's rules (workflows/orders.yaml), not with the step library, so the
end-to-end tests compare the deployed pipeline against an independent answer: for every input
order its fate (filtered, dead-lettered by a step with a reason, or counted in a window), and
the window rows the warehouse must hold.
"""
from __future__ import annotations

import csv
import io
import pathlib
from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Any, Iterable

REPO = pathlib.Path(__file__).resolve().parents[2]
WINDOW_MS = 60_000


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
