"""Window state checkpoints: what a state store writes of them (the windows a batch changed),
checked by hand and against the whole dict (to_dict) over random batches."""
import json

from hypothesis import given, settings
from hypothesis import strategies as st

from etlkit.steps import AggregateConfig, Record, WindowState, run_aggregate
from etlkit.steps.windows import Checkpoint

PARAMS = {"window": "30s", "allowed_lateness": "20s", "group_by": ["g"],
          "aggregations": {"n": {"count": "*"}, "s": {"sum": "v"}, "mean": {"avg": "v"}}}
CONFIG = AggregateConfig.from_dict(PARAMS)


def records(*events):
    return [Record(value={"g": g, "v": v}, headers={"etl-event-time": str(t)}, key=str(i))
            for i, (t, g, v) in enumerate(events)]


def run(events, state=None, flush=False):
    return run_aggregate(CONFIG, records(*events), state, step="s", now_ms=1, flush=flush).state


def parts(state):
    """The rows a store holds for ``state``: part id -> item."""
    return dict(state.parts())


def test_a_batch_writes_the_windows_it_changed_and_removes_the_ones_it_closed():
    first = run([(1_000, "A", 1), (2_000, "B", 2), (31_000, "A", 3)])
    assert sorted(parts(first)) == ['0/["A"]', '0/["B"]', '30000/["A"]']
    # 55 s: the watermark (35 s) closes [0, 30 s); B at 40 s opens a window, A's gets a record.
    second = run([(55_000, "A", 4), (40_000, "B", 5)], first)
    written, removed = second.changes(first)
    assert [part for part, _item in written] == ['30000/["A"]', '30000/["B"]']
    assert written[0][1] == {"start": 30_000, "key": ["A"], "acc": [2, 7, [7, 2]]}
    assert removed == ['0/["A"]', '0/["B"]']


def test_a_window_untouched_by_a_batch_keeps_its_item_and_is_not_written():
    first = run([(1_000, "A", 1), (2_000, "B", 2)])
    second = run([(3_000, "A", 4)], first)
    assert second.changes(first) == ([('0/["A"]', second["windows"][0])], [])
    assert second["windows"][1] is first["windows"][1]  # B's item, shared: never changed


def test_a_state_rebuilt_from_a_dict_follows_that_dict():
    copy = json.loads(json.dumps(run([(1_000, "A", 1), (2_000, "B", 2)])))
    later = run([(3_000, "B", 1)], copy)
    assert later.changes(copy) == ([('0/["B"]', later["windows"][1])], [])


def test_a_checkpoint_followed_by_another_no_longer_says_what_changed():
    first = run([(1_000, "A", 1)])
    second = run([(2_000, "A", 1)], first)
    run([(3_000, "A", 1)], second)
    assert second.changes(first) is None  # a store given it writes it whole
    assert first.changes(None) is None and second.changes({}) is None


# Whole seconds make exact boundary hits (an event at a window end) common.
_times = st.one_of(st.integers(0, 300).map(lambda s: s * 1000), st.integers(0, 300_000))
_events = st.lists(st.tuples(_times, st.sampled_from(["A", "B", "C"]),
                             st.one_of(st.none(), st.integers(-50, 50))), max_size=60)
# Per batch: its size, whether it gets a JSON copy of the state (rebuilt, not carried on), and
# whether it flushes at the end.
_batches = st.lists(st.tuples(st.integers(1, 10), st.booleans(), st.booleans()), min_size=1,
                    max_size=20)


@settings(max_examples=150, deadline=None)
@given(_events, _batches)
def test_each_checkpoint_is_its_base_with_its_changes_applied(events, batches):
    stored, state, texts, i = {}, None, [], 0  # stored: the rows a store would hold
    for size, copied, flush in batches * 6:
        if i >= len(events):
            break
        base = json.loads(json.dumps(state)) if copied else state
        new = run(events[i:i + size], base, flush)
        written, removed = new.changes(base)
        for part in removed:
            stored.pop(part, None)
        stored.update(written)
        assert stored == parts(new)
        assert type(new) is Checkpoint and new == WindowState.from_dict(new, CONFIG).to_dict()
        texts.append((new, json.dumps(new)))
        state, i = new, i + size
    # No later batch changed a checkpoint it followed (items are shared, never changed).
    assert [json.dumps(checkpoint) for checkpoint, _text in texts] == [text for _c, text in texts]
