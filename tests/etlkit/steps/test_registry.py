"""The registry: run_step by kind, workflow step specs, events in, and config caching."""
import base64
import json

import pytest

from etlkit.steps import (STEP_KINDS, ConfigError, Record, StaticLookup, parse_step,
                          parse_step_config, run_step, run_step_on_events)


def test_the_four_kinds():
    assert sorted(STEP_KINDS) == ["aggregate", "enrich", "filter", "map"]


@pytest.mark.parametrize("kind, params, emitted", [
    pytest.param("filter", {"condition": "n > 1"}, [{"n": 2}], id="filter"),
    pytest.param("map", {"derive": {"m": "n * 10"}}, [{"n": 1, "m": 10}, {"n": 2, "m": 20}], id="map"),
    pytest.param("enrich", {"on": "n", "lookup": "t.csv", "fields": ["name"]},
                 [{"n": 1, "name": "one"}, {"n": 2, "name": None}], id="enrich"),
    pytest.param("aggregate", {"window": "1s", "aggregations": {"c": {"count": "*"}}}, [], id="aggregate"),
])
def test_run_step_dispatches_by_kind(kind, params, emitted):
    records = [Record(value={"n": 1}, timestamp=10), Record(value={"n": 2}, timestamp=20)]
    outcome = run_step(kind, params, records, None, 5, lookup=StaticLookup({"1": {"name": "one"}}))
    assert [r.value for r in outcome.records] == emitted
    assert (outcome.state is not None) == (kind == "aggregate")
    c = outcome.counters
    assert c.in_ == 2 == c.out + c.filtered + c.dead_lettered


def test_step_name_defaults_to_the_kind():
    outcome = run_step("map", {"cast": {"n": "int"}}, [Record(value={"n": "x"})], now_ms=1)
    assert outcome.dead_letters[0].step == "map"
    named = run_step("map", {"cast": {"n": "int"}}, [Record(value={"n": "x"})], now_ms=1, step="tidy")
    assert named.dead_letters[0].step == "tidy"


def test_enrich_without_a_lookup_is_a_programming_error():
    with pytest.raises(ValueError, match="enrich step needs lookup="):
        run_step("enrich", {"on": "n", "lookup": "t.csv"}, [], now_ms=0)


def test_unknown_kind():
    with pytest.raises(ConfigError, match="^kind: must be one of filter, map, enrich, aggregate$"):
        run_step("join", {}, [])


def test_parsed_configs_are_cached_by_content():
    first = parse_step_config("filter", {"condition": "a > 1"})
    assert parse_step_config("filter", {"condition": "a > 1"}) is first
    assert parse_step_config("filter", {"condition": "a > 2"}) is not first
    assert parse_step_config("filter", {"condition": "a > 1"}, "steps[0].params") is not first


@pytest.mark.parametrize("kind, params, condition, message", [
    pytest.param("filter", None, "a >", "steps[1].condition: invalid expression: position 3",
                 id="filter-condition-syntax"),
    pytest.param("filter", None, None, "steps[1].condition: is required for a filter step",
                 id="filter-without-condition"),
    pytest.param("filter", {"x": 1}, "a", "steps[1].params: a filter step takes no params",
                 id="filter-with-params"),
    pytest.param("map", {"drop": ["a"]}, "a", "steps[1].condition: only filter steps take a condition",
                 id="condition-on-map"),
    pytest.param("map", {}, None, "steps[1].params: must give at least one of", id="empty-map"),
    pytest.param("sort", {}, None, "steps[1].kind: must be one of", id="unknown-kind"),
])
def test_parse_step_locates_errors_in_the_workflow(kind, params, condition, message):
    with pytest.raises(ConfigError) as caught:
        parse_step(kind, params, condition, "steps[1]")
    assert str(caught.value).startswith(message)


def _event(value, **extra):
    return {"topic": "orders", "key": "o1", "partition": 0, "body": value,
            "timestamp": "2024-06-01 09:00:00 +0000 UTC", "headers": {}, **extra}


def test_run_step_on_events_counts_undecodable_events():
    spec = {"kind": "filter", "name": "paid-only", "condition": "amount > 0", "output": "t"}
    events = [_event({"amount": 5}), _event({"amount": -1}), _event("not json"),
              _event(base64.b64encode(json.dumps({"amount": 2}).encode()).decode())]
    outcome = run_step_on_events(spec, events, now_ms=7)
    assert [r.value for r in outcome.records] == [{"amount": 5}, {"amount": 2}]
    assert outcome.counters.as_dict() == {"in": 4, "out": 2, "filtered": 1, "dead_lettered": 1,
                                          "emitted": 2}
    [dead] = outcome.dead_letters
    assert dead.to_dict() == {"step": "paid-only", "reason": "event.body: not JSON",
                              "payload": "not json", "topic": "orders", "key": "o1", "at": 7}


def test_run_step_on_events_carries_aggregate_state():
    spec = {"kind": "aggregate", "name": "per-minute",
            "params": {"window": "1m", "aggregations": {"n": {"count": "*"}}}}
    first = run_step_on_events(spec, [_event({})], None, 1)
    second = run_step_on_events(spec, [_event({}, timestamp="2024-06-01 09:01:00 +0000 UTC")],
                                first.state, 2)
    assert [r.value["n"] for r in second.records] == [1]


def test_run_step_on_events_refuses_a_bad_spec():
    with pytest.raises(ConfigError, match="^step: must be an object$"):
        run_step_on_events("filter", [])
    with pytest.raises(ConfigError, match="^step.kind: must be one of"):
        run_step_on_events({"name": "x"}, [])
