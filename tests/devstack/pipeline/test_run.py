"""The pure parts of a workflow run: how many records a file holds, what the books see of steps."""
import pathlib

import pytest

from devstack.pipeline.books import StepPlan
from devstack.pipeline.run import data_path, data_rows, step_plans
from etlkit.workflow import load_workflow

REPO = pathlib.Path(__file__).resolve().parents[3]


@pytest.mark.parametrize(("text", "fmt", "rows"), [
    pytest.param("a,b\n1,2\n3,4\n", "csv", 2, id="csv"),
    pytest.param('a,b\n1,"two\nlines"\n3,4\n', "csv", 2, id="csv-quoted-newline-is-one-record"),
    pytest.param("a,b\n1,2\n\n3,4\n", "csv", 2, id="csv-blank-line-skipped"),
    pytest.param("a,b\n", "csv", 0, id="csv-header-only"),
    pytest.param("", "csv", 0, id="csv-empty"),
    pytest.param('{"a":1}\n\n{"a":2}\n', "jsonl", 2, id="jsonl-blank-line-skipped"),
])
def test_data_rows(text, fmt, rows):
    assert data_rows(text, fmt) == rows


def test_the_sample_csv_holds_201_orders():
    assert data_rows((REPO / "workflows" / "data" / "orders.csv").read_text(), "csv") == 201


def test_step_plans_follow_the_pipeline_and_find_the_aggregates_count():
    plans = step_plans(load_workflow(REPO / "workflows" / "orders.yaml"))
    assert plans == [StepPlan("paid-only", "filter", ("orders-raw",), "orders-paid"),
                     StepPlan("normalise", "map", ("orders-paid",), "orders-clean"),
                     StepPlan("with-customer", "enrich", ("orders-clean",), "orders-enriched"),
                     StepPlan("per-country", "aggregate", ("orders-enriched",), "orders-by-country",
                              count_field="orders"),
                     StepPlan("sink", "sink", ("orders-by-country",))]


def test_the_data_path_is_the_ticked_sources_the_steps_and_the_sink():
    workflow = load_workflow(REPO / "workflows" / "orders.yaml")
    assert data_path(workflow) == ["legacy-orders", "paid-only", "normalise", "with-customer", "per-country", "sink"]
