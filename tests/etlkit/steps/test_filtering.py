"""The filter step: kept, filtered and dead-lettered records, and its config errors."""
import pytest

from etlkit.steps import ConfigError, FilterConfig, run_filter


def test_keeps_filters_and_dead_letters_in_one_batch(make_record):
    records = [make_record({"amount": 5}, key="a", topic="t"), make_record({"amount": 0}),
               make_record({"amount": "lots"}, key="c", topic="t"), make_record({"amount": 9})]
    outcome = run_filter(FilterConfig.from_dict({"condition": "amount > 1"}), records,
                         step="paid-only", now_ms=1000)

    assert [r.value["amount"] for r in outcome.records] == [5, 9]
    assert outcome.records[0] is records[0]  # passed through untouched, not copied
    assert outcome.counters.as_dict() == {"in": 4, "out": 2, "filtered": 1, "dead_lettered": 1,
                                          "emitted": 2}
    [dead] = outcome.dead_letters
    assert dead.to_dict() == {"step": "paid-only", "topic": "t", "key": "c", "at": 1000,
                              "payload": {"amount": "lots"},
                              "reason": "'amount > 1': cannot compare string with number"}


def test_condition_can_read_metadata(make_record):
    config = FilterConfig.from_dict({"condition": "$headers['etl-source'] == 'api'"})
    records = [make_record({}, headers={"etl-source": "api"}), make_record({})]
    outcome = run_filter(config, records, step="f", now_ms=0)
    assert outcome.counters.out == 1 and outcome.counters.filtered == 1


def test_empty_batch():
    outcome = run_filter(FilterConfig.from_dict({"condition": "true"}), [], step="f", now_ms=0)
    assert outcome.records == () and outcome.counters.in_ == 0


@pytest.mark.parametrize("params, field, rule", [
    pytest.param({}, "params.condition", "is required", id="missing"),
    pytest.param({"condition": "  "}, "params.condition", "must be a non-empty string", id="blank"),
    pytest.param({"condition": 5}, "params.condition", "must be a non-empty string", id="not-text"),
    pytest.param({"condition": "a >"}, "params.condition",
                 "invalid expression: position 3: expected a value", id="syntax"),
    pytest.param({"condition": "a", "conditon": "b"}, "params.conditon", "is not a known setting",
                 id="typo"),
    pytest.param(["a"], "params", "must be an object", id="not-an-object"),
])
def test_config_errors_name_field_and_rule(params, field, rule, assert_config_error):
    assert_config_error(FilterConfig.from_dict, params, field, rule)


def test_from_condition_locates_errors_at_the_step_condition():
    with pytest.raises(ConfigError) as caught:
        FilterConfig.from_condition("a ==", "steps[0].condition")
    assert caught.value.field == "steps[0].condition"

