"""The sample data of `make run`: seeded, inside the CSV's hour, bad on purpose where it says so;
the summary names the stack it ran on."""
from datetime import datetime

import pytest

from devstack.demo import (BAD_EVERY, CUSTOMERS, HTTP_FAULTS, LEGACY_COLUMNS, LEGACY_FAULTS, SAMPLE_SIZES,
                           http_orders, legacy_rows, render_run, sample_note, stack_summary)
from devstack.stackchoice import choose_stack


def _hour(text):
    return datetime.strptime(text, "%Y-%m-%dT%H:%M:%SZ").strftime("%Y-%m-%d %H")


def test_http_orders_are_the_same_every_run_with_one_fault_per_kind_in_turn():
    orders = http_orders(200)
    assert orders == http_orders(200)
    assert [o["order_id"] for o in orders[:2]] == ["H00001", "H00002"]
    bad = [o for i, o in enumerate(orders) if i % BAD_EVERY == BAD_EVERY - 1]
    assert len(bad) == 4
    for order, fault in zip(bad, HTTP_FAULTS):
        assert {k: order[k] for k in fault} == fault and order["status"] == "paid"
    good = [o for i, o in enumerate(orders) if i % BAD_EVERY != BAD_EVERY - 1]
    assert all(o["cust_id"] in CUSTOMERS and o["quantity"] > 0 and _hour(o["ordered_at"]) == "2024-06-01 09"
               for o in good)


def test_legacy_rows_follow_the_table_columns_and_carry_their_faults():
    rows = [dict(zip([c for c, _ in LEGACY_COLUMNS], r)) for r in legacy_rows(100)]
    assert [r["updated_at"] for r in rows] == sorted(r["updated_at"] for r in rows)
    assert len({r["order_id"] for r in rows}) == 100
    bad = [rows[BAD_EVERY - 1], rows[2 * BAD_EVERY - 1]]
    assert [{k: r[k] for k in f} for r, f in zip(bad, LEGACY_FAULTS)] == list(LEGACY_FAULTS)


def test_the_summary_says_which_stack_ran_under_the_verdict():
    choice = choose_stack("auto", [])
    entry = stack_summary(choice, {"kafka": "4.1.1", "argo-events": "v1.9.11", "nats-server": "2.10.29"})
    assert entry == {"kind": "real", "reason": "running on the real components (every real part is here)",
                     "name": "real components (Apache Kafka 4.1.1, Argo Events v1.9.11 on nats-server 2.10.29)"}
    summary = {"workflow": "orders", "ok": True, "sources": [], "steps": [], "dead_letters": [],
               "warehouse": {"table": "t", "rows": 0, "url": "sqlite://"}, "elapsed_s": 1.0,
               "data_path": {"records": 0, "seconds": 0, "records_per_s": 0.0}, "skipped_sensors": [],
               "runner": {}, "notes": [], "problems": [], "stack": entry}
    lines = render_run(summary).splitlines()
    assert lines[0] == "faas-etl run: workflow orders: OK: the books balance"
    assert lines[1] == f"stack: {entry['name']}"


@pytest.mark.parametrize("kind, says", [
    ("real", "real components: 1000 orders and 200 legacy rows (the stand-ins take 2000 and 300): a real "
             "Sensor calls its function once per record, so this runs about a minute; --records and "
             "--legacy-rows change it"),
    ("stand-in", ""),  # the stand-ins' sample is the full one: nothing to explain
], ids=["real-explains-its-smaller-sample", "stand-in-says-nothing"])
def test_the_sample_size_note(kind, says):
    assert sample_note(kind, *SAMPLE_SIZES[kind]) == says
