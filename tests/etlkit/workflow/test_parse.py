"""Parsing and validating workflow definitions: good ones become typed values, bad ones name each error."""
from __future__ import annotations

import copy
import dataclasses
from typing import Any, Callable, Mapping, Sequence

import pytest

from etlkit.workflow.errors import WorkflowInvalid
from etlkit.workflow.model import FileSource, SqlSource, Tick
from etlkit.workflow.parse import load_workflow, parse_workflow
from etlkit.workflow.step_hooks import StepValidator


def errors_of(document: Any, validator: StepValidator, **options: Any) -> list[str]:
    with pytest.raises(WorkflowInvalid) as caught:
        parse_workflow(document, validator=validator, **options)
    return [str(e) for e in caught.value.errors]


def test_minimal_workflow_links_the_topic_chain(make_doc, structural):
    workflow = parse_workflow(make_doc(), validator=structural)

    assert [s.inputs for s in workflow.steps] == [("shop-raw",), ("shop-paid",)]
    assert workflow.sink.inputs == ("shop-tidy",)
    assert [(b.operation, b.function, b.inputs) for b in workflow.scaling.bounds] == [
        ("paid", "filter", ("shop-raw",)),
        ("tidy", "map", ("shop-paid",)),
        ("sink", "warehouse-loader", ("shop-tidy",)),
    ]


def test_defaults_fill_what_the_document_leaves_out(make_doc, structural):
    workflow = parse_workflow(make_doc(), validator=structural)

    topics = {t.name: t for t in workflow.topics}
    assert (topics["shop-raw"].partitions, topics["shop-raw"].replication) == (2, 3)
    assert topics["shop-paid"].retention_ms == 7 * 86_400_000
    assert workflow.sink.url == "env:WAREHOUSE_URL"
    assert workflow.scaling.tick == Tick(interval_ms=15_000)
    assert workflow.delivery.timeout_ms == 30_000 and workflow.delivery.retry.steps == 3
    sql = workflow.sources[1]
    assert isinstance(sql, SqlSource) and sql.tick == Tick(interval_ms=30_000)


def test_workflow_values_are_frozen(make_doc, structural):
    workflow = parse_workflow(make_doc(), validator=structural)

    with pytest.raises(dataclasses.FrozenInstanceError):
        workflow.name = "other"  # type: ignore[misc]
    with pytest.raises(TypeError):
        workflow.steps[1].params["rename"]["amt"] = "x"  # type: ignore[index]


def test_step_spec_is_what_the_function_receives(make_doc, structural):
    workflow = parse_workflow(make_doc(), validator=structural)

    assert workflow.step_spec(workflow.steps[1]) == {
        "kind": "map",
        "name": "tidy",
        "params": {"rename": {"amt": "amount"}},
        "inputs": ["shop-paid"],
        "output": "shop-tidy",
        "dead_letter": "shop-dlq",
    }


def test_a_filter_spec_carries_its_condition(make_doc, structural):
    workflow = parse_workflow(make_doc(), validator=structural)

    spec = workflow.step_spec(workflow.steps[0])

    assert (spec["condition"], spec["params"]) == ("amount > 0", {})


def test_source_spec_carries_the_source_library_config(make_doc, structural):
    doc = make_doc()
    doc["sources"][1]["params"] = {"page_size": 200}
    workflow = parse_workflow(doc, validator=structural, source_validator=_SourceLibrary())

    assert workflow.sources[1].spec() == {
        "kind": "sql",
        "name": "nightly",
        "topic": "shop-raw",
        "url": "env:SHOP_DB_URL",
        "params": {"source": "nightly", "table": "orders", "cursor_column": "updated_at", "key_column": "id", "page_size": 200},
    }


class _SourceLibrary:
    """The source library as the parser sees it: problems named in the library's field names."""

    def __init__(self, *problems: str) -> None:
        self.problems = problems

    def source_errors(self, kind, params):
        return list(self.problems) if kind == "sql" else []


def test_source_library_errors_point_at_the_workflow_fields(make_doc, structural):
    library = _SourceLibrary("key_column: required, a non-empty string", "column_types.amount: must be one of number")

    errors = errors_of(make_doc(), structural, source_validator=library)

    assert errors == [
        "sources[1].key: required, a non-empty string",
        "sources[1].params.column_types.amount: must be one of number",
    ]


def test_keys_stay_text_even_where_yaml_1_1_reads_booleans(structural):
    text = """
name: keys
sources: [{name: in, kind: http, topic: keys-raw}]
steps:
  - name: join
    kind: enrich
    output: keys-joined
    params: {on: customer_id, yes: 1, 2: two}
sink: {table: t, key: id}
topics: {keys-raw: {}, keys-joined: {}, keys-dlq: {}}
dead_letter: keys-dlq
"""
    workflow = parse_workflow(text, validator=structural)

    assert dict(workflow.steps[0].params) == {"on": "customer_id", "yes": 1, "2": "two"}


def test_yaml_text_and_file_format_from_the_suffix(structural):
    text = """
name: files
sources:
  - {name: drop, kind: file, topic: files-raw, path: data/in.jsonl}
sink: {table: t, key: id}
topics: {files-raw: {}, files-dlq: {}}
dead_letter: files-dlq
"""
    workflow = parse_workflow(text, validator=structural)

    assert workflow.steps == ()
    assert workflow.sources[0] == FileSource(name="drop", topic="files-raw", path="data/in.jsonl", format="jsonl")
    assert workflow.sink.inputs == ("files-raw",)


def _set(path: Sequence[Any], value: Any) -> Callable[[dict], None]:
    def change(doc: dict) -> None:
        target = doc
        for part in path[:-1]:
            target = target[part]
        if value is _DELETE:
            del target[path[-1]]
        else:
            target[path[-1]] = copy.deepcopy(value)

    return change


_DELETE = object()

BAD_DOCUMENTS = [
    pytest.param(_set(["steps", 0, "condition"], "amount > 0 and (status == 'paid'"),
                 "steps[0].condition: unclosed '(' opened at position 15", id="broken-condition-unclosed-paren"),
    pytest.param(_set(["steps", 0, "condition"], "status == 'paid"),
                 "steps[0].condition: unclosed ' quote opened at position 10", id="broken-condition-unclosed-quote"),
    pytest.param(_set(["steps", 1, "kind"], "mapp"),
                 "steps[1].kind: unknown step kind 'mapp' (expected one of aggregate, enrich, filter, map)",
                 id="unknown-step-kind"),
    pytest.param(_set(["topics", "shop-raw", "partitions"], "six"),
                 "topics.shop-raw.partitions: expected an integer, got string 'six'", id="bad-type-partitions"),
    pytest.param(_set(["topics", "shop-raw", "partitions"], True),
                 "topics.shop-raw.partitions: expected an integer, got boolean true", id="bool-is-not-an-integer"),
    pytest.param(_set(["steps", 1, "name"], "paid"),
                 "steps[1].name: duplicate name 'paid' (already used by steps[0])", id="duplicate-step-names"),
    pytest.param(_set(["steps", 0, "name"], "api"),
                 "steps[0].name: duplicate name 'api' (already used by sources[0])", id="step-named-like-a-source"),
    pytest.param(_set(["steps", 0, "name"], "sink"),
                 "steps[0].name: duplicate name 'sink' (already used by the sink)", id="reserved-name-sink"),
    pytest.param(_set(["sink", "key"], _DELETE), "sink.key: required", id="sink-key-missing"),
    pytest.param(_set(["sink", "table"], "drop table;"),
                 "sink.table: 'drop table;' is not an SQL identifier (letters, digits and '_', not starting with a digit)",
                 id="sink-table-not-identifier"),
    pytest.param(_set(["sink", "url"], "postgresql://u:pw@db/x"),
                 "sink.url: 'postgresql://u:pw@db/x' is not a URL reference ('env:VARIABLE' or 'secret:name')",
                 id="sink-url-literal-not-reference"),
    pytest.param(_set(["steps", 0, "kind"], _DELETE), "steps[0].kind: required", id="step-kind-missing"),
    pytest.param(_set(["steps", 1, "condition"], "x > 1"),
                 "steps[1].condition: only filter steps take a condition (this is a map step)",
                 id="condition-on-map-step"),
    pytest.param(_set(["steps", 0, "condition"], _DELETE),
                 "steps[0].condition: required for a filter step", id="filter-without-condition"),
    pytest.param(_set(["steps", 0, "params"], {"condition": "x > 1"}),
                 "steps[0].params.condition: give it as the field 'condition' instead", id="condition-inside-params"),
    pytest.param(_set(["sources", 1, "params"], {"cursor_column": "id"}),
                 "sources[1].params.cursor_column: give it as the field 'cursor' instead", id="source-param-shadows-a-field"),
    pytest.param(_set(["sink", "key"], "window id"),
                 "sink.key: 'window id' is not an SQL identifier (letters, digits and '_', not starting with a digit)",
                 id="sink-key-not-a-column-name"),
    pytest.param(_set(["steps", 1, "params"], ["rename"]),
                 "steps[1].params: expected a mapping, got a list", id="params-not-a-mapping"),
    pytest.param(_set(["steps", 0, "ouptut"], "x"),
                 "steps[0].ouptut: unknown field (expected one of condition, kind, name, output, params)",
                 id="typo-unknown-field"),
    pytest.param(_set(["steps", 1, "output"], "shop-raw"),
                 ["steps[1].output: topic 'shop-raw' is already written or read upstream (sources[0].topic)",
                  "topics.shop-tidy: declared but not used by any source, step or dead_letter"],
                 id="step-output-loops-back"),
    pytest.param(_set(["steps", 1, "output"], "shop-missing"),
                 ["steps[1].output: topic 'shop-missing' is not declared under topics",
                  "topics.shop-tidy: declared but not used by any source, step or dead_letter"],
                 id="topic-not-declared"),
    pytest.param(_set(["topics", "shop-spare"], {}),
                 "topics.shop-spare: declared but not used by any source, step or dead_letter", id="topic-unused"),
    pytest.param(_set(["topics", "Shop_Raw"], {}),
                 "topics.Shop_Raw: 'Shop_Raw' is not a valid name (lowercase letters, digits and '-', starting and "
                 "ending with a letter or digit), at most 63 characters", id="topic-name-invalid"),
    pytest.param(_set(["topics", "ticks"], {}),
                 ["topics.ticks: declared but not used by any source, step or dead_letter",
                  "topics.ticks: name is taken: its EventSource would be the workflow's calendar EventSource 'shop-ticks'"],
                 id="topic-collides-with-calendar"),
    pytest.param(_set(["topics", "t" * 60], {}),
                 ["topics." + "t" * 60 + ": declared but not used by any source, step or dead_letter",
                  "topics." + "t" * 60 + ": its EventSource name 'shop-" + "t" * 60 + "' is longer than 63 "
                  "characters: shorten the workflow or topic name"],
                 id="eventsource-name-too-long"),
    pytest.param(_set(["sources", 0, "topic"], "shop-dlq"),
                 "sources[0].topic: 'shop-dlq' is the dead-letter topic", id="source-writes-dead-letter"),
    pytest.param(_set(["name"], "Shop"),
                 "name: 'Shop' is not a valid name (lowercase letters, digits and '-', starting and ending with a "
                 "letter or digit)", id="workflow-name-not-function-safe"),
    pytest.param(_set(["name"], "a" * 25), "name: at most 24 characters, got 25", id="workflow-name-too-long"),
    pytest.param(_set(["sources", 1, "schedule"], "*/5 * * *"),
                 "sources[1].schedule: give either interval or schedule, not both", id="interval-and-schedule"),
    pytest.param(_set(["sources", 1, "interval"], _DELETE),
                 "sources[1].interval: required: give an interval (like '30s') or a cron schedule",
                 id="sql-source-without-tick"),
    pytest.param(_set(["sources", 1, "interval"], 30),
                 "sources[1].interval: expected a duration like '30s' (a whole number with unit ms, s, m, h or d), "
                 "got integer 30", id="duration-without-unit"),
    pytest.param(_set(["sources", 0, "kind"], "kafka"),
                 "sources[0].kind: unknown source kind string 'kafka' (expected one of file, http, metrics, sql)",
                 id="unknown-source-kind"),
    pytest.param(_set(["sources"], []),
                 ["sources: must have at least one entry",
                  "topics.shop-raw: declared but not used by any source, step or dead_letter"], id="no-sources"),
    pytest.param(_set(["scaling"], {"schedule": "every minute"}),
                 "scaling.schedule: must have 5 fields (minute hour day-of-month month day-of-week), found 2",
                 id="bad-cron"),
    pytest.param(_set(["scaling"], {"defaults": {"min_replicas": 3, "max_replicas": 2}}),
                 "scaling.defaults.max_replicas: must be at least min_replicas (3), got 2", id="max-below-min"),
    pytest.param(_set(["scaling"], {"defaults": {"min_replicas": 0}}),
                 "scaling.defaults.min_replicas: must be between 1 and 1000, got 0", id="scale-to-zero"),
    pytest.param(_set(["scaling"], {"steps": {"padi": {"max_replicas": 2}}}),
                 "scaling.steps.padi: unknown field (expected one of paid, sink, tidy)", id="scaling-unknown-step"),
    pytest.param(_set(["delivery"], {"timeout": "2m"}),
                 "delivery.timeout: must be at most 60s (the gateway's upstream timeout)", id="timeout-past-gateway"),
    pytest.param(_set(["delivery"], {"retry": {"jitter": 1.5}}),
                 "delivery.retry.jitter: must be between 0.0 and 1.0, got 1.5", id="jitter-above-one"),
    # Removed in issue 15: an error saying why, not ignored (a setting that stopped meaning
    # anything) and not the plain "unknown field" (which would not say what to do).
    pytest.param(_set(["delivery"], {"batch_size": 500}),
                 "delivery.batch_size: removed: records travel as batches of up to 4000 per Kafka message, "
                 "written by the producer, and a Sensor calls the function once per message "
                 "(docs/contracts.md, \"Records on Kafka\"); delete this field", id="removed-batch-size"),
    pytest.param(_set(["delivery"], {"timout": "5s"}),
                 "delivery.timout: unknown field (expected one of retry, timeout)", id="delivery-typo"),
]


@pytest.mark.parametrize("change, expected", BAD_DOCUMENTS)
def test_bad_document_names_field_and_rule(make_doc, structural, change, expected):
    doc = make_doc()
    change(doc)

    assert errors_of(doc, structural) == (expected if isinstance(expected, list) else [expected])


def test_every_error_is_collected_not_only_the_first(make_doc, structural):
    doc = make_doc()
    doc["steps"][1]["kind"] = "mapp"
    doc["topics"]["shop-raw"]["partitions"] = 0
    del doc["sink"]["key"]
    doc["steps"][0]["name"] = "api"

    assert errors_of(doc, structural) == [
        "topics.shop-raw.partitions: must be between 1 and 10000, got 0",
        "steps[1].kind: unknown step kind 'mapp' (expected one of aggregate, enrich, filter, map)",
        "sink.key: required",
        "steps[0].name: duplicate name 'api' (already used by sources[0])",
    ]


@pytest.mark.parametrize(
    "text, expected",
    [
        pytest.param("name: a\nname: b\n", ["name: duplicate key (line 2; first at line 1)"], id="duplicate-top-key"),
        pytest.param("topics:\n  t: {}\n  t: {partitions: 2}\n",
                     ["topics.t: duplicate key (line 3; first at line 2)"], id="duplicate-topic"),
        pytest.param("name: [a\n", None, id="syntax-error"),
        pytest.param("", ["(document): empty document; expected a workflow mapping"], id="empty"),
        pytest.param("- a\n- b\n", ["(document): expected a mapping, got a list"], id="not-a-mapping"),
    ],
)
def test_yaml_level_problems(structural, text, expected):
    errors = errors_of(text, structural)

    if expected is None:
        assert len(errors) == 1 and errors[0].startswith("(document): not valid YAML at line 2")
    else:
        assert errors[: len(expected)] == expected


class _Registry:
    """The step library's registry as the parser sees it: two methods."""

    def step_kinds(self) -> Sequence[str]:
        return ("filter", "map", "dedupe")

    def step_errors(self, kind: str, condition: str | None, params: Mapping[str, Any]) -> Sequence[str]:
        return ["params.rename.amt: target 'amount' clashes with an existing field"] if kind == "map" else []


def test_step_validator_hook_decides_kinds_and_params(make_doc):
    doc = make_doc()
    doc["steps"].append({"name": "once", "kind": "dedupe", "output": "shop-once"})
    doc["topics"]["shop-once"] = {}

    assert errors_of(doc, _Registry()) == [
        "steps[1].params.rename.amt: target 'amount' clashes with an existing field"
    ]
    doc["steps"][1]["kind"] = "enrich"
    assert errors_of(doc, _Registry())[0] == "steps[1].kind: unknown step kind 'enrich' (expected one of dedupe, filter, map)"


@pytest.mark.parametrize("name", ["orders.yaml", "host-metrics.yaml"])
def test_committed_examples_are_valid(repo_root, name):
    """With the default validator: the step library's own parsers when it is present."""
    workflow = load_workflow(repo_root / "workflows" / name)

    assert workflow.name == name.removesuffix(".yaml")
    assert workflow.sink.inputs == (workflow.steps[-1].output,)
