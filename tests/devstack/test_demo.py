"""The sample data of `make run`: seeded, inside the CSV's hour, bad on purpose where it says so."""
from datetime import datetime

from devstack.demo import (BAD_EVERY, CUSTOMERS, HTTP_FAULTS, LEGACY_COLUMNS, LEGACY_FAULTS, http_orders,
                           legacy_rows, window_closer)


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


def test_the_closer_is_a_paid_order_of_a_known_customer_at_the_given_time():
    closer = window_closer(1_717_239_600_000)
    assert closer["ordered_at"] == "2024-06-01T11:00:00Z"
    assert closer["status"] == "paid" and closer["cust_id"] in CUSTOMERS and closer["amount"] > 0
