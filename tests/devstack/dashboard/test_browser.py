"""The dashboard in headless Chromium, against the running local stack while data flows.

The sample orders workflow runs on its own embedded stack (its committed Argo Events manifests,
the real functions, the embedded broker); a dashboard serves the page, and a real browser reads
it. The page's numbers are compared with the broker's (records on every topic, read back by an
independent reader) and the gateway's (calls per function, from its /metrics); then the
autoscaler is ticked with a higher minimum for the filter step and the scale event has to show
up on the page, with the controller's reason. Screenshots go to ``.run/screenshots/`` (or
``$FAAS_ETL_SCREENSHOTS``), taken while records flow and at the end.
"""
from __future__ import annotations

import os
import pathlib
import time

import pytest

from devstack.dashboard.cli import start_dashboard
from devstack.dashboard.config import DashboardConfig
from devstack.demo import WORKFLOW, http_orders
from devstack.localstack import LocalStack
from devstack.pipeline.kafka_edge import messages_on, records_in
from devstack.pipeline.run import WorkflowRun
from devstack.pipeline.sqldb import count_rows
from etlkit.controller.measure import parse_prometheus
from etlkit.workflow import load_workflow

from . import webdriver

pytestmark = [pytest.mark.slow,
              pytest.mark.skipif(not webdriver.available(),
                                 reason="needs Debian chromium + chromium-driver (make sysdeps)")]

REPO = pathlib.Path(__file__).resolve().parents[3]
SHOTS = pathlib.Path(os.getenv("FAAS_ETL_SCREENSHOTS") or REPO / ".run" / "screenshots")
# The orders workflow's path (its SQL and file sources are not needed: orders come over HTTP).
FUNCTIONS = ["ingest", "filter", "map", "enrich", "aggregate", "warehouse-loader", "autoscaler",
             "matcher"]
STEP_FUNCTIONS = ["ingest", "filter", "map", "enrich", "aggregate", "warehouse-loader"]
PAGE_WAIT_S = 20.0  # how long the page may take to show what the broker and gateway say


def warehouse_url(stack) -> str:
    return f"sqlite:///{stack.run_dir / 'warehouse.db'}"


@pytest.fixture(scope="module")
def flowing(tmp_path_factory):
    """Stack + workflow wiring + dashboard; yields them with the browser already on the page."""
    run_dir = tmp_path_factory.mktemp("dash-run")
    workflow = load_workflow(WORKFLOW)
    stack = LocalStack(run_dir=run_dir, functions=FUNCTIONS).up()
    run = dashboard = browser = None
    try:
        warehouse = warehouse_url(stack)
        # Every step's Sensor, not the calendar's autoscaler ticks: the test ticks it itself, so
        # the status the page reads is always the test's tick (it shows the last tick only).
        steps = [s.name for s in workflow.steps] + [workflow.sink.name]
        run = WorkflowRun(stack, workflow, warehouse_url=warehouse).prepare(steps).start()
        config = DashboardConfig(gateway_url=stack.url, user=stack.credentials.user,
                                 password=stack.credentials.password,
                                 kafka_bootstrap=stack.bootstrap, warehouse_url=warehouse,
                                 secrets_dir=str(stack.secrets_dir), port=0, interval_s=0.5,
                                 controller_interval_s=1.0)
        dashboard = start_dashboard(config, [workflow])
        browser = webdriver.Browser()
        browser.get(dashboard.url)
        assert browser.wait_for("return document.body.dataset.renderedAt", PAGE_WAIT_S), \
            "the page never rendered a round"
        yield stack, run, workflow, dashboard, browser
    finally:
        if browser is not None:
            browser.quit()
        if dashboard is not None:
            dashboard.stop()
        if run is not None:
            run.close()
        stack.down()


def _page_values(browser, selector: str, key: str, field: str) -> dict[str, float]:
    """``{row key: number}`` from the rows matching ``selector`` (exact values, not text)."""
    return browser.run("""
        const [selector, key, field] = arguments, out = {};
        for (const row of document.querySelectorAll(selector)) {
          const cell = row.querySelector(`[data-field="${field}"]`);
          if (cell && cell.dataset.value !== "null") out[row.dataset[key]] = Number(cell.dataset.value);
        }
        return out;""", selector, key, field)


def _wait_equal(browser, expected: dict, selector: str, key: str, field: str) -> dict:
    """The page's values once they equal ``expected`` (or the last ones seen, for the message)."""
    deadline = time.monotonic() + PAGE_WAIT_S
    while True:
        seen = _page_values(browser, selector, key, field)
        if {k: seen.get(k) for k in expected} == expected or time.monotonic() > deadline:
            return {k: seen.get(k) for k in expected}
        time.sleep(0.25)


def _gateway_calls(stack, functions) -> dict[str, float]:
    with stack.session() as http:
        samples = parse_prometheus(http.get(f"{stack.url}/metrics", timeout=10).text,
                                   ["gateway_function_invocation_total"])
    out = dict.fromkeys(functions, 0.0)
    for (_name, labels), value in samples.items():
        fn = dict(labels)["function_name"].split(".")[0]
        if fn in out:
            out[fn] += value
    return out


def test_the_page_shows_what_the_broker_and_the_gateway_say_while_data_flows(flowing):
    stack, run, workflow, dashboard, browser = flowing
    orders = http_orders(1200)
    run.post("orders-api", orders[:600], batch=100)
    # Records move through the steps while more arrive: the page is live, not a final report.
    moving = browser.wait_for("""
        const cell = document.querySelector('#steps tr[data-step="orders/paid-only"] [data-field="in"]');
        return cell && Number(cell.dataset.value) > 0;""", PAGE_WAIT_S)
    assert moving, "the filter step showed no record while they were being sent"
    run.post("orders-api", orders[600:], batch=100)
    shot = browser.screenshot(SHOTS / "dashboard-flowing.png")
    assert shot.stat().st_size > 10_000

    run.wait_drained(timeout=90)
    # The end of input (no record) ends every partition of orders-raw: every window closes and
    # the rows reach the warehouse.
    assert run.end_inputs() == ["orders-raw"]
    run.wait_drained(timeout=90)
    rows = count_rows(warehouse_url(stack), workflow.sink.table)
    assert rows > 0
    shown = _wait_equal(browser, {workflow.sink.table: float(rows)}, "#warehouse tr[data-table]",
                        "table", "rows")
    assert shown == {workflow.sink.table: rows}, "warehouse rows on the page vs the warehouse's"
    # The page's topic rows count messages (a batch of records each), as the offsets do.
    broker = {t.name: messages_on(stack.bootstrap, t.name, t.partitions) for t in workflow.topics}
    records = {t.name: records_in(stack.bootstrap, t.name, t.partitions) for t in workflow.topics}
    assert records["orders-raw"] == 1200
    shown = _wait_equal(browser, {t: float(n) for t, n in broker.items()},
                        "#topics tr[data-topic]", "topic", "records")
    assert shown == broker, "topic records on the page vs the broker's"
    assert browser.run("return Number(document.getElementById('t-dead').dataset.value)") == \
        broker["orders-dlq"]

    # Step counters (summed over the functions' replicas, in records) against the records of the
    # topics they read.
    steps = {"orders/paid-only": ("in", "orders-raw"), "orders/normalise": ("in", "orders-paid"),
             "orders/with-customer": ("in", "orders-clean"),
             "orders/per-country": ("in", "orders-enriched")}
    for step, (field, topic) in steps.items():
        value = _wait_equal(browser, {step: float(records[topic])}, "#steps tr[data-step]", "step", field)
        assert value == {step: records[topic]}, f"{step} {field} vs records on {topic}"
    emitted = _wait_equal(browser, {"orders/paid-only": float(records["orders-paid"])},
                          "#steps tr[data-step]", "step", "emitted")
    assert emitted == {"orders/paid-only": records["orders-paid"]}

    gateway = _gateway_calls(stack, STEP_FUNCTIONS)
    assert gateway["filter"] > 0
    shown = _wait_equal(browser, gateway, "#functions tr[data-function]", "function", "invocations")
    assert shown == gateway, "calls per function on the page vs the gateway's /metrics"


def test_a_scale_event_appears_within_seconds_with_the_autoscalers_reason(flowing):
    stack, run, workflow, dashboard, browser = flowing
    envelope = {"workflow": workflow.name, "version": 1, "scaling": workflow.scaling_spec(),
                "event": {}}
    for op in envelope["scaling"]["operations"]:
        if op["name"] == "paid-only":
            op["min_replicas"] = 3  # the operator raised the floor: the controller must follow
    with stack.session() as http:
        before = http.get(f"{stack.url}/system/function/filter", timeout=10).json()["replicas"]
        # Rates and velocities need two samples with work in between: one tick, records through
        # every step, then the tick that follows the new floor (and plans the routes).
        first = http.post(f"{stack.url}/function/autoscaler", json=envelope, timeout=60)
        assert first.status_code == 200, first.text
        run.post("orders-api", [{**o, "order_id": "B" + o["order_id"]} for o in http_orders(600)],
                 batch=100)
        run.wait_drained(timeout=90)
        tick = first
        for _ in range(2):
            if tick.json()["actions"]:
                break
            tick = http.post(f"{stack.url}/function/autoscaler", json=envelope, timeout=60)
            assert tick.status_code == 200, tick.text
        asked = time.monotonic()
    assert f"scale filter {before} -> 3" in tick.json()["actions"], tick.json()["reasons"]
    event = browser.wait_for("""
        for (const b of document.querySelectorAll('#events [data-event-function="filter"]')) {
          const item = b.closest('li');
          if (item.textContent.includes(arguments[0] + ' → 3')) return item.textContent;
        }
        return null;""", PAGE_WAIT_S, str(before))
    seconds = time.monotonic() - asked
    assert event, "the scale event never appeared on the page"
    assert seconds < 10, f"the scale event took {seconds:.1f}s to appear"
    # The controller's reason follows once its status is read (every second here).
    reason = browser.wait_for("""
        for (const b of document.querySelectorAll('#events [data-event-function="filter"]')) {
          const text = b.closest('li').textContent;
          if (text.includes('autoscaler (orders)')) return text;
        }
        return null;""", PAGE_WAIT_S)
    assert reason and "min_replicas 3" in reason, reason
    # Per node, the replicas that are ready: all three once the new workers answer.
    nodes = browser.wait_for("""
        const row = document.querySelector('#replicas tr[data-function="filter"]');
        const ready = [...row.querySelectorAll('td.cell')].reduce((n, c) => n + Number(c.dataset.value), 0);
        return row.querySelector('[data-field="replicas"]').dataset.value === '3' && ready === 3
               ? [...row.querySelectorAll('td.cell')].map(c => Number(c.dataset.value)) : null;""",
                             PAGE_WAIT_S)
    assert nodes and sum(nodes) == 3, "replicas per node add up to the function's replicas"
    decision = browser.run("return document.querySelector('#decisions li').textContent")
    assert "applied" in decision.lower() and "scale filter" in decision
    # The plan of that tick: the routes between the filter's services and the map's.
    link = browser.wait_for("""
        const link = document.querySelector('#plan [data-link="filter->map"]');
        return link ? link.textContent : null;""", PAGE_WAIT_S)
    assert link and "records/s planned" in link
    browser.screenshot(SHOTS / "dashboard-scaled.png")
