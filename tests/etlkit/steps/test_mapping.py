"""The map step: each operation, their fixed order, per-record failures, and config errors."""
import copy
import json

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from etlkit.steps import MapConfig, Record, RecordError, map_value, run_map
from etlkit.steps.casts import CASTS
from etlkit.steps.mapping import _map_paths


def mapped(params, value, **meta):
    return map_value(MapConfig.from_dict(params), Record(value=value, **meta))


def test_the_workflow_example_normalises_an_order():
    params = {"rename": {"cust_id": "customer_id"},
              "cast": {"amount": "float", "quantity": "int", "ordered_at": "timestamp"},
              "derive": {"unit_price": "amount / quantity"}, "drop": ["internal_note"]}
    value = {"order_id": "O1", "cust_id": "C9", "amount": "141.40", "quantity": "4",
             "ordered_at": "2024-06-01T09:00:18Z", "internal_note": ""}
    assert mapped(params, value) == {"order_id": "O1", "customer_id": "C9", "amount": 141.4,
                                     "quantity": 4, "ordered_at": 1717232418000,
                                     "unit_price": 35.35}


def test_rename_is_simultaneous_so_it_can_swap():
    assert mapped({"rename": {"a": "b", "b": "a"}}, {"a": 1, "b": 2}) == {"b": 1, "a": 2}


def test_rename_into_and_out_of_nested_fields():
    value = {"customer": {"address": {"country": "FR", "zip": "75001"}}}
    result = mapped({"rename": {"customer.address.country": "country", "x": "y"}}, value)
    assert result == {"customer": {"address": {"zip": "75001"}}, "country": "FR"}


def test_input_record_is_never_modified():
    value = {"customer": {"address": {"country": "FR"}}, "n": "1"}
    before = copy.deepcopy(value)
    mapped({"rename": {"customer.address.country": "c"}, "cast": {"n": "int"},
            "derive": {"customer.tag": "'x'"}, "drop": ["customer.address"]}, value)
    assert value == before


def test_cast_skips_missing_and_keeps_null():
    assert mapped({"cast": {"a": "int", "b": "int"}}, {"b": None}) == {"b": None}


def test_derive_sees_earlier_derivations_and_metadata():
    result = mapped({"derive": {"total": "price * qty", "label": "$key + ':' + string(total)"}},
                    {"price": 2, "qty": 3}, key="k")
    assert result == {"price": 2, "qty": 3, "total": 6, "label": "k:6"}


def test_derive_into_a_nested_path_creates_objects():
    assert mapped({"derive": {"meta.tag.v": "1"}}, {"meta": None}) == {"meta": {"tag": {"v": 1}}}


def test_select_projects_in_order_with_null_for_missing():
    result = mapped({"select": ["b", "nested.x", "absent"]}, {"a": 1, "b": 2, "nested": {"x": 3, "y": 4}})
    assert result == {"b": 2, "nested": {"x": 3}, "absent": None}
    assert list(result) == ["b", "nested", "absent"]


def test_order_is_rename_cast_derive_select_drop():
    params = {"drop": ["tmp"], "select": ["total", "tmp"], "derive": {"total": "n * 2", "tmp": "1"},
              "cast": {"n": "int"}, "rename": {"num": "n"}}
    assert mapped(params, {"num": "21", "other": True}) == {"total": 42}


@pytest.mark.parametrize("params, value, reason", [
    pytest.param({"cast": {"amount": "float"}}, {"amount": "abc"},
                 "field amount: cannot cast string 'abc' to float", id="cast"),
    pytest.param({"cast": {"a.b": "int"}}, {"a": "text"}, "field a.b: a is a string, not an object",
                 id="cast-through-a-string"),
    pytest.param({"derive": {"unit": "amount / qty"}}, {"amount": 1, "qty": 0},
                 "derive unit: 'amount / qty': division by zero", id="derive"),
    pytest.param({"derive": {"a.b": "1"}}, {"a": 5}, "derive a.b: field a.b: a is a number, not an object",
                 id="derive-into-a-number"),
])
def test_failures_dead_letter_naming_the_field(params, value, reason, make_record):
    outcome = run_map(MapConfig.from_dict(params), [make_record(value), make_record({})],
                      step="m", now_ms=5)
    assert outcome.counters.as_dict() == {"in": 2, "out": 1, "filtered": 0, "dead_lettered": 1,
                                          "emitted": 1}
    assert outcome.dead_letters[0].reason == reason
    assert outcome.dead_letters[0].payload == value


def test_outputs_keep_the_message_metadata(make_record):
    record = make_record({"a": 1}, at=7, key="k", topic="t", partition=2, offset=9, timestamp=7)
    [out] = run_map(MapConfig.from_dict({"drop": ["a"]}), [record], step="m", now_ms=0).records
    assert out == Record(value={}, key="k", headers=record.headers, topic="t", partition=2, offset=9,
                         timestamp=7)


@pytest.mark.parametrize("params, field, rule", [
    pytest.param({}, "params", "must give at least one of rename, cast, derive, select, drop",
                 id="nothing-to-do"),
    pytest.param({"cast": {"a": "integer"}}, "params.cast.a",
                 "must be one of int, float, str, bool, timestamp, timestamp_iso", id="unknown-cast"),
    pytest.param({"rename": {"a": 1}}, "params.rename.a", "must be the new field name", id="rename-target"),
    pytest.param({"rename": {"a": "c", "b": "c"}}, "params.rename.b",
                 "target 'c' is also the target of 'a'", id="rename-collision"),
    pytest.param({"rename": {"a..b": "c"}}, "params.rename.a..b", "'a..b' has an empty segment",
                 id="empty-segment"),
    pytest.param({"derive": {"x": "1 +"}}, "params.derive.x", "invalid expression: position 3",
                 id="derive-syntax"),
    pytest.param({"derive": {"x": ""}}, "params.derive.x", "must be a non-empty expression",
                 id="derive-empty"),
    pytest.param({"derive": ["x"]}, "params.derive", "must be an object", id="derive-list"),
    pytest.param({"select": []}, "params.select", "must be a non-empty list of strings", id="select-empty"),
    pytest.param({"drop": ["a", "a"]}, "params.drop[1]", "repeats 'a'", id="drop-repeat"),
    pytest.param({"drop": ["a"], "selct": ["b"]}, "params.selct", "is not a known setting", id="typo"),
])
def test_config_errors(params, field, rule, assert_config_error):
    assert_config_error(MapConfig.from_dict, params, field, rule)


# Configs whose every path is one top-level field take the flat plan; the general (nested-path)
# implementation is the oracle. Few names, so renames, casts, derivations and drops collide.
_names = st.sampled_from(["a", "b", "c", "d"])
_flat_params = st.fixed_dictionaries({}, optional={
    "rename": st.dictionaries(_names, _names, max_size=2).filter(
        lambda r: len(set(r.values())) == len(r)),
    "cast": st.dictionaries(_names, st.sampled_from(sorted(CASTS)), max_size=2),
    "derive": st.dictionaries(_names, st.sampled_from(["a + 1", "b * c", "lower(d)", "a / b", "$key"]),
                              max_size=2),
    "select": st.lists(_names, min_size=1, max_size=3, unique=True),
    "drop": st.lists(_names, min_size=1, max_size=2, unique=True),
}).filter(bool)
_values = st.dictionaries(_names, st.none() | st.booleans() | st.integers(-5, 5) | st.floats(-5, 5)
                          | st.sampled_from(["x", "2", "2024-06-01T09:00:18Z", "TRUE"]), max_size=4)


def _result(fn, config, record):
    try:
        return "ok", json.dumps(fn(config, record))
    except RecordError as exc:
        return "error", exc.reason


@settings(max_examples=400, deadline=None)
@given(_flat_params, _values)
def test_the_flat_plan_agrees_with_the_general_map(params, value):
    config = MapConfig.from_dict(params)
    record = Record(value=value, key="k")
    assert config._flat is not None
    assert _result(map_value, config, record) == _result(_map_paths, config, record)
    assert record.value == value  # never modified either way


def test_a_nested_path_takes_the_general_map():
    config = MapConfig.from_dict({"rename": {"a.b": "c"}, "cast": {"n": "int"}})
    assert config._flat is None
    assert map_value(config, Record(value={"a": {"b": 1}, "n": "2"})) == {"a": {}, "n": 2, "c": 1}
