"""The aggregate step: windows solved by hand, lateness, state persistence, and two properties:
results do not depend on batch boundaries, and they match a brute-force oracle."""
import json

import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from etlkit.steps import AggregateConfig, ConfigError, StateError, WindowState, run_aggregate
from etlkit.steps.windows import window_identity

PARAMS = {"window": "1m", "group_by": ["country"],
          "aggregations": {"orders": {"count": "*"}, "revenue": {"sum": "amount"},
                           "low": {"min": "amount"}, "high": {"max": "amount"},
                           "mean": {"avg": "amount"}, "priced": {"count": "amount"}}}
MINUTE = 60_000


def run(records, state=None, params=PARAMS, **options):
    return run_aggregate(AggregateConfig.from_dict(params), records, state, step="per-country",
                         now_ms=1, **options)


def test_windows_by_hand(make_record):
    records = [make_record({"country": "FR", "amount": 10}, at=1_000),
               make_record({"country": "DE", "amount": 4}, at=2_000),
               make_record({"country": "FR", "amount": None}, at=59_999),
               make_record({"country": "FR", "amount": 2.5}, at=30_000),
               make_record({"country": "FR", "amount": 1}, at=MINUTE + 5)]  # closes [0, 60000)
    outcome = run(records)

    assert [r.value for r in outcome.records] == [
        {"window_id": "DE/0", "window_start": 0, "window_end": MINUTE, "country": "DE",
         "orders": 1, "revenue": 4, "low": 4, "high": 4, "mean": 4.0, "priced": 1},
        {"window_id": "FR/0", "window_start": 0, "window_end": MINUTE, "country": "FR",
         "orders": 3, "revenue": 12.5, "low": 2.5, "high": 10, "mean": 6.25, "priced": 2},
    ]
    assert [(r.key, r.timestamp, r.headers) for r in outcome.records] == [
        ("DE/0", MINUTE - 1, {"etl-event-time": str(MINUTE - 1)}),
        ("FR/0", MINUTE - 1, {"etl-event-time": str(MINUTE - 1)})]
    assert outcome.counters.as_dict() == {"in": 5, "out": 5, "filtered": 0, "dead_lettered": 0,
                                          "emitted": 2}
    assert [w["start"] for w in outcome.state["windows"]] == [MINUTE]


def test_allowed_lateness_delays_closing_and_accepts_late_records(make_record):
    params = {**PARAMS, "allowed_lateness": "10s"}
    first = run([make_record({"country": "FR", "amount": 1}, at=1_000),
                 make_record({"country": "FR", "amount": 1}, at=MINUTE + 5_000)], params=params)
    assert first.records == ()  # watermark 55 000 has not reached the window end
    second = run([make_record({"country": "FR", "amount": 5}, at=59_000),  # late but allowed
                  make_record({"country": "FR", "amount": 1}, at=MINUTE + 10_000)],
                 first.state, params=params)
    [result] = second.records
    assert result.value["revenue"] == 6 and result.value["orders"] == 2


def test_records_past_the_lateness_are_dead_letters_and_leave_state_alone(make_record):
    first = run([make_record({"country": "FR", "amount": 1}, at=2 * MINUTE)])
    late = make_record({"country": "FR", "amount": 1}, at=MINUTE - 1, key="o7", topic="orders")
    second = run([late], first.state)
    [dead] = second.dead_letters
    assert dead.reason == ("late: event time 59999 is in window [0, 60000), already closed by "
                           "watermark 120000 (allowed lateness 0 ms)")
    assert (dead.key, dead.topic, dead.payload) == ("o7", "orders", {"country": "FR", "amount": 1})
    assert second.state == first.state
    assert second.counters.as_dict() == {"in": 1, "out": 0, "filtered": 0, "dead_lettered": 1,
                                         "emitted": 0}


@pytest.mark.parametrize("value, meta, reason", [
    pytest.param({"country": "FR", "amount": "7"}, {"at": 1},
                 "aggregation revenue: field amount is string, expected a finite number", id="text-amount"),
    pytest.param({"country": ["FR"], "amount": 1}, {"at": 1},
                 "key field country: must be text, a number, a bool or null, got list", id="list-key"),
    pytest.param({"country": "FR", "amount": 1}, {}, "no event time: no etl-event-time header and no timestamp",
                 id="no-event-time"),
    pytest.param({"country": "FR", "amount": 1}, {"headers": {"etl-event-time": "soon"}},
                 "header etl-event-time: 'soon' is not epoch milliseconds", id="bad-header"),
    pytest.param({"country": "FR", "amount": 1e308}, {"at": 2},
                 "aggregation revenue: result overflows a float", id="overflow"),
])
def test_bad_records_are_dead_letters_and_do_not_touch_state(value, meta, reason, make_record):
    ok = make_record({"country": "FR", "amount": 1e308}, at=1)
    outcome = run([ok, make_record(value, **meta)])
    assert [d.reason for d in outcome.dead_letters] == [reason]
    assert outcome.state["windows"][0]["acc"][1] == 1e308  # the good record's sum alone


def test_event_time_from_a_field_and_from_the_kafka_timestamp(make_record):
    by_field = run([make_record({"country": "FR", "amount": 1, "ts": "1970-01-01T00:01:00Z"})],
                   params={**PARAMS, "time_field": "ts"})
    assert by_field.state["windows"][0]["start"] == MINUTE
    by_timestamp = run([make_record({"country": "FR", "amount": 1}, timestamp=3 * MINUTE)])
    assert by_timestamp.state["windows"][0]["start"] == 3 * MINUTE
    missing = run([make_record({"country": "FR"}, at=1)], params={**PARAMS, "time_field": "ts"})
    assert missing.dead_letters[0].reason == "event time field ts: missing"


def test_integral_float_keys_group_with_ints(make_record):
    params = {"window": "60s", "group_by": ["n"], "aggregations": {"c": {"count": "*"}}}
    outcome = run([make_record({"n": 1}, at=1), make_record({"n": 1.0}, at=2)], params=params,
                  flush=True)
    assert [r.value["c"] for r in outcome.records] == [2]


def test_state_limit(make_record):
    params = {**PARAMS, "max_open_windows": 2}
    outcome = run([make_record({"country": c, "amount": 1}, at=1) for c in "ABCA"], params=params)
    assert [d.reason for d in outcome.dead_letters] == [
        "state limit: 2 windows open (max_open_windows); the record would open another"]
    assert outcome.counters.out == 3


def test_flush_emits_everything_open_in_order(make_record):
    params = {**PARAMS, "allowed_lateness": "2m"}  # nothing closes before the flush
    outcome = run([make_record({"country": "B", "amount": 1}, at=MINUTE),
                   make_record({"country": "A", "amount": 1}, at=MINUTE + 1),
                   make_record({"country": "Z", "amount": 1}, at=1)], params=params, flush=True)
    assert [r.key for r in outcome.records] == ["Z/0", "A/60000", "B/60000"]
    assert outcome.state["windows"] == []


def test_global_window_and_nested_group_fields(make_record):
    params = {"window": "1s", "group_by": ["customer.tier"], "aggregations": {"n": {"count": "*"}}}
    outcome = run([make_record({"customer": {"tier": "gold"}}, at=10)], params=params, flush=True)
    assert outcome.records[0].value == {"window_id": "gold/0", "window_start": 0, "window_end": 1000,
                                        "customer": {"tier": "gold"}, "n": 1}
    global_params = {"window": "1s", "aggregations": {"n": {"count": "*"}}}
    assert run([make_record({}, at=10)], params=global_params, flush=True).records[0].key == "0"


@pytest.mark.parametrize("group, start, identity", [
    pytest.param(["FR"], 0, "FR/0", id="plain"),
    pytest.param(["a/b", "c"], 60000, "a%2Fb/c/60000", id="slash-escaped"),
    pytest.param(["50%"], 0, "50%25/0", id="percent-escaped"),
    pytest.param([None, True, 2.5], -60000, "/true/2.5/-60000", id="null-bool-number"),
])
def test_window_identity(group, start, identity):
    assert window_identity(group, start) == identity


def test_state_round_trips_through_json_text(make_record):
    config = AggregateConfig.from_dict(PARAMS)
    state = WindowState(config)
    for i, country in enumerate(["FR", "DE", "FR"]):
        state.absorb(make_record({"country": country, "amount": i + 0.5}, at=i))
    data = json.loads(json.dumps(state.to_dict()))
    again = WindowState.from_dict(data, config)
    assert again.to_dict() == state.to_dict()
    assert again.open_windows == 2 and again.watermark == 2


@pytest.mark.parametrize("mutate, message", [
    pytest.param(lambda s: "text", "state: must be an object", id="not-an-object"),
    pytest.param(lambda s: {**s, "version": 9}, "state.version: must be 3", id="version"),
    pytest.param(lambda s: {**s, "config": {**s["config"], "window_ms": 1}},
                 "state.config: state was written by a different", id="config-changed"),
    pytest.param(lambda s: {**s, "watermark": "x"}, "state.watermark", id="watermark"),
    pytest.param(lambda s: {**s, "partitions": {}}, "state.partitions: must be a list",
                 id="partitions-type"),
    pytest.param(lambda s: {**s, "partitions": s["partitions"] * 2},
                 "state.partitions[1].partition: must be a partition number, listed once",
                 id="partition-twice"),
    pytest.param(lambda s: {**s, "partitions": [{**s["partitions"][0], "applied": [1]}]},
                 "state.partitions[0].applied: must be a list of [input batch id, last window end or null]",
                 id="applied-ids"),
    pytest.param(lambda s: {**s, "partitions": [{**s["partitions"][0], "high": 1.5}]},
                 "state.partitions[0].high: must be an integer or null", id="high-mark"),
    pytest.param(lambda s: {**s, "windows": {}}, "state.windows: must be a list", id="windows-type"),
    pytest.param(lambda s: {**s, "windows": [{**s["windows"][0], "start": 5}]},
                 "state.windows[0].start: must be an integer multiple", id="misaligned-start"),
    pytest.param(lambda s: {**s, "windows": [{**s["windows"][0], "key": []}]},
                 "state.windows[0].key: must be a list of 1 scalars", id="key-length"),
    pytest.param(lambda s: {**s, "windows": [{**s["windows"][0], "acc": [1]}]},
                 "state.windows[0].acc: must be a list of 6", id="acc-length"),
    pytest.param(lambda s: {**s, "windows": [{**s["windows"][0], "acc": [1, 1, 1, 1, [1], 1]}]},
                 "state.windows[0].acc[4]: not a valid avg accumulator", id="acc-shape"),
    pytest.param(lambda s: {**s, "windows": s["windows"] * 2}, "state.windows[1]: repeats",
                 id="duplicate-window"),
])
def test_unusable_state_is_refused_with_the_field(mutate, message, make_record):
    state = run([make_record({"country": "FR", "amount": 1}, at=1)]).state
    with pytest.raises(StateError) as caught:
        run([], mutate(state))
    assert str(caught.value).startswith(message)


def test_input_state_is_not_modified(make_record):
    state = run([make_record({"country": "FR", "amount": 1}, at=1)]).state
    snapshot = json.dumps(state)
    run([make_record({"country": "FR", "amount": 2}, at=2)], state)
    assert json.dumps(state) == snapshot


def test_a_copy_of_the_state_or_another_config_is_rebuilt_and_checked(make_record):
    first = run([make_record({"country": "FR", "amount": 1}, at=1)])
    copy = json.loads(json.dumps(first.state))
    assert WindowState.from_dict(copy, AggregateConfig.from_dict(PARAMS)).to_dict() == copy
    with pytest.raises(StateError, match="state.config: state was written by a different"):
        run([], first.state, params={**PARAMS, "window": "2m"})


def test_a_state_used_twice_gives_the_same_outcome_twice(make_record):
    # The second run cannot carry on with the windows the first one changed: it rebuilds them.
    state = run([make_record({"country": "FR", "amount": 1}, at=1)]).state
    later = [make_record({"country": "FR", "amount": 2}, at=2 * MINUTE)]
    once, twice = run(later, state), run(later, state)
    assert [r.value for r in once.records] == [r.value for r in twice.records] != []
    assert once.state == twice.state


@pytest.mark.parametrize("params, field, rule", [
    pytest.param({"aggregations": {"n": {"count": "*"}}}, "params.window", "is required", id="no-window"),
    pytest.param({"window": "0s", "aggregations": {"n": {"count": "*"}}}, "params.window",
                 "must be more than 0", id="zero-window"),
    pytest.param({"window": "1 minute", "aggregations": {"n": {"count": "*"}}}, "params.window",
                 "expected a duration like '30s'", id="window-words"),
    pytest.param({"window": 60, "aggregations": {"n": {"count": "*"}}}, "params.window",
                 "expected a duration like '30s'", id="bare-number-has-no-unit"),
    pytest.param({"window": "60s"}, "params.aggregations", "must map result names to {op: field}",
                 id="no-aggregations"),
    pytest.param({"window": "60s", "aggregations": {"n": {"median": "x"}}}, "params.aggregations.n.median",
                 "is not an op", id="unknown-op"),
    pytest.param({"window": "60s", "aggregations": {"n": {"sum": "*"}}}, "params.aggregations.n.sum",
                 "'*' (all records) only works with count", id="sum-star"),
    pytest.param({"window": "60s", "aggregations": {"n": {"sum": "a", "min": "a"}}}, "params.aggregations.n",
                 "must be one {op: field}", id="two-ops"),
    pytest.param({"window": "60s", "aggregations": {"window_id": {"count": "*"}}},
                 "params.aggregations.window_id", "'window_id' is already an output field", id="reserved-name"),
    pytest.param({"window": "60s", "group_by": ["country"], "aggregations": {"country": {"count": "*"}}},
                 "params.aggregations.country", "'country' is already an output field", id="group-name"),
    pytest.param({"window": "60s", "allowed_lateness": "-1s", "aggregations": {"n": {"count": "*"}}},
                 "params.allowed_lateness", "expected a duration like '30s'", id="negative-lateness"),
    pytest.param({"window": "60s", "max_open_windows": 0, "aggregations": {"n": {"count": "*"}}},
                 "params.max_open_windows", "must be an integer >= 1", id="zero-state-bound"),
])
def test_config_errors(params, field, rule, assert_config_error):
    assert_config_error(AggregateConfig.from_dict, params, field, rule)


def test_error_location_follows_the_caller():
    with pytest.raises(ConfigError) as caught:
        AggregateConfig.from_dict({"window": "-5s", "aggregations": {"n": {"count": "*"}}},
                                  "steps[2].params")
    assert str(caught.value) == ("steps[2].params.window: expected a duration like '30s' (a whole "
                                 "number with unit ms, s, m, h or d), got '-5s'")


# -- properties ---------------------------------------------------------------------------------

# Whole seconds make exact boundary hits (event at a window end, watermark on one) common.
_times = st.one_of(st.integers(0, 400).map(lambda s: s * 1000), st.integers(0, 400_000))
_events = st.lists(st.tuples(_times, st.sampled_from(["A", "B", "C"]),
                             st.one_of(st.none(), st.integers(-50, 50))), max_size=60)
PROPERTY_PARAMS = {"window": "30s", "allowed_lateness": "20s", "group_by": ["g"],
                   "aggregations": {"n": {"count": "*"}, "s": {"sum": "v"}, "lo": {"min": "v"},
                                    "hi": {"max": "v"}}}


def _records(events):
    from etlkit.steps import Record
    return [Record(value={"g": g, "v": v}, headers={"etl-event-time": str(t)}, key=str(i))
            for i, (t, g, v) in enumerate(events)]


@settings(max_examples=150, deadline=None)
@given(_events, st.lists(st.integers(1, 10), min_size=1, max_size=20))
def test_results_do_not_depend_on_batch_boundaries(events, cuts):
    records = _records(events)
    whole = run(records, params=PROPERTY_PARAMS)
    emitted, dead, state, i = [], [], None, 0
    for size in cuts * 60:
        if i >= len(records):
            break
        part = run(records[i:i + size], json.loads(json.dumps(state)), params=PROPERTY_PARAMS)
        emitted += part.records
        dead += part.dead_letters
        state, i = part.state, i + size
    if i == 0:
        state = run([], None, params=PROPERTY_PARAMS).state
    assert [r.value for r in emitted] == [r.value for r in whole.records]
    assert [(d.key, d.reason) for d in dead] == [(d.key, d.reason) for d in whole.dead_letters]
    assert state == whole.state


@settings(max_examples=150, deadline=None)
@given(_events)
@example([(0, "A", 1), (50_000, "A", 2)])  # the watermark lands exactly on the window end
@example([(50_000, "A", 1), (29_999, "A", 2)])  # ... and a record for the window just closed
def test_matches_a_brute_force_oracle(events):
    size, lateness = 30_000, 20_000
    high, accepted, late = None, [], []
    for i, (t, g, v) in enumerate(events):  # the rules, restated as plainly as possible
        start = t - t % size
        if high is not None and start + size <= high - lateness:
            late.append(str(i))
            continue
        accepted.append((start, g, v))
        high = t if high is None else max(high, t)
    expected = {}
    for start, g, v in accepted:
        if high is not None and start + size <= high - lateness:
            n, values = expected.get((start, g), (0, []))
            expected[(start, g)] = (n + 1, values + ([v] if v is not None else []))
    outcome = run(_records(events), params=PROPERTY_PARAMS)
    got = {(r.value["window_start"], r.value["g"]): r.value for r in outcome.records}
    assert sorted(got) == sorted(expected)
    for key, (n, values) in expected.items():
        assert got[key]["n"] == n
        assert got[key]["s"] == (sum(values) if values else None)
        assert got[key]["lo"] == (min(values) if values else None)
        assert got[key]["hi"] == (max(values) if values else None)
    assert [d.key for d in outcome.dead_letters] == late
    c = outcome.counters
    assert c.in_ == c.out + c.filtered + c.dead_lettered and c.emitted == len(expected)


# Event-time field values of every kind: integers (read by absorb's one lookup), and what only
# event_time_ms reads (floats, ISO text, number text, bools, null, absent).
_time_values = st.one_of(_times, _times.map(float), st.floats(-1e6, 5e5),
                         _times.map(lambda ms: f"1970-01-01T00:{ms // 60_000 % 60:02d}:00Z"),
                         _times.map(str), st.booleans(), st.none(), st.just("absent"))


@settings(max_examples=150, deadline=None)
@given(st.lists(st.tuples(_time_values, st.sampled_from(["A", "B"]), st.integers(-5, 5)),
                max_size=40))
def test_a_top_level_time_field_reads_as_a_nested_one(events):
    # "t" takes absorb's shortcut for integers; "w.t" always goes through event_time_ms.
    def records(nested):
        from etlkit.steps import Record
        return [Record(value={"g": g, "v": v, **({} if t == "absent" else
                                                 {"w": {"t": t}} if nested else {"t": t})},
                       key=str(i)) for i, (t, g, v) in enumerate(events)]
    params = {**PROPERTY_PARAMS, "time_field": "t"}
    top = run(records(nested=False), params=params)
    nested = run(records(nested=True), params={**params, "time_field": "w.t"})
    assert [r.value for r in top.records] == [r.value for r in nested.records]
    assert [(d.key, d.reason.replace("w.t", "t")) for d in nested.dead_letters] \
        == [(d.key, d.reason) for d in top.dead_letters]
    assert top.state["windows"] == nested.state["windows"]
