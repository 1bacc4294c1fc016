"""The pure parts of a workflow run: how many records a file holds, what the books see of steps,
which source may end its topic."""
import dataclasses
import pathlib

import pytest

from devstack.pipeline.books import StepPlan
from devstack.pipeline.run import data_path, data_rows, sole_source, step_plans
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


def test_a_file_source_sharing_its_topic_is_not_its_sole_source():
    # orders-raw is written by orders-api, orders-csv and legacy-orders: the file's end would
    # close windows before the SQL rows arrive.
    workflow = load_workflow(REPO / "workflows" / "orders.yaml")
    by_name = {s.name: s for s in workflow.sources}
    assert {s.topic for s in workflow.sources} == {"orders-raw"}
    assert [name for name, s in by_name.items() if sole_source(workflow, s)] == []
    alone = dataclasses.replace(workflow, sources=(by_name["orders-csv"],))
    assert sole_source(alone, by_name["orders-csv"])
    elsewhere = dataclasses.replace(by_name["orders-api"], topic="orders-other")
    two_topics = dataclasses.replace(workflow, sources=(by_name["orders-csv"], elsewhere))
    assert sole_source(two_topics, by_name["orders-csv"]) and sole_source(two_topics, elsewhere)
