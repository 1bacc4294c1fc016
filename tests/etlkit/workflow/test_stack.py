"""The stack.yml function entries a workflow needs, and how fragments of several workflows merge."""
from __future__ import annotations

from etlkit.workflow.parse import parse_workflow
from etlkit.workflow.stack import merge_stack_functions, stack_functions


def test_functions_of_a_workflow(make_doc, structural):
    doc = make_doc(scaling={"defaults": {"min_replicas": 2, "max_replicas": 4}, "steps": {"sink": {"max_replicas": 3}}})
    doc["sink"]["url"] = "secret:warehouse-url"

    functions = stack_functions(parse_workflow(doc, validator=structural))

    assert list(functions) == ["autoscaler", "filter", "ingest", "map", "sql-source", "warehouse-loader"]
    assert functions["autoscaler"]["handler"] == "./controller-fn"
    assert functions["map"] == {
        "handler": "./functions/map",
        "labels": {"faas-etl.dev/role": "step", "com.openfaas.scale.min": "2", "com.openfaas.scale.max": "4",
                   "com.openfaas.scale.factor": "0"},  # the autoscaler sizes it: CE's alerts must not
    }
    assert functions["warehouse-loader"]["secrets"] == ["warehouse-url"]
    assert functions["warehouse-loader"]["labels"]["com.openfaas.scale.max"] == "3"
    assert "secrets" not in functions["sql-source"]  # env:SHOP_DB_URL needs no secret file
    assert "com.openfaas.scale.min" not in functions["ingest"]["labels"]
    assert "com.openfaas.scale.factor" not in functions["ingest"]["labels"]  # not scaled by us


def test_two_steps_of_one_kind_and_two_workflows_merge(make_doc, structural):
    doc = make_doc(scaling={"steps": {"paid": {"min_replicas": 3, "max_replicas": 3}}})
    doc["steps"].append({"name": "big", "kind": "filter", "condition": "amount > 100", "output": "shop-big"})
    doc["topics"]["shop-big"] = {}
    first = stack_functions(parse_workflow(doc, validator=structural))
    other = make_doc(name="other", scaling={"defaults": {"max_replicas": 9}})
    other["sink"]["url"] = "secret:other-db"
    second = stack_functions(parse_workflow(other, validator=structural))

    merged = merge_stack_functions([first, second])

    assert first["filter"]["labels"]["com.openfaas.scale.min"] == "3"  # the higher floor of the two filters
    assert first["filter"]["labels"]["com.openfaas.scale.max"] == "5"
    assert merged["filter"]["labels"]["com.openfaas.scale.max"] == "9"
    assert merged["warehouse-loader"]["secrets"] == ["other-db"]
    assert merge_stack_functions([second, first]) == merged
