"""The books of a run: each count measured from topics and the warehouse, each rule able to fail."""
import pytest

from devstack.pipeline.books import SourceFeed, StepPlan, keep_books
from devstack.pipeline.kafka_edge import Message

DLQ = "dlq"
PLANS = [StepPlan("keep", "filter", ("raw",), "kept"),
         StepPlan("shape", "map", ("kept",), "shaped"),
         StepPlan("sum", "aggregate", ("shaped",), "sums", count_field="n"),
         StepPlan("sink", "sink", ("sums",))]
FEEDS = [SourceFeed("api", "http", "raw", sent=5, rejected=1), SourceFeed("csv", "file", "raw", sent=2)]


def m(topic, key, value=None, source=None):
    return Message(topic, 0, 0, key, value if value is not None else {}, {"etl-source": source} if source else {})


def letter(step, reason, key=None):
    return m(DLQ, key, {"step": step, "reason": reason, "key": key, "payload": {}, "topic": "raw", "at": 1})


def healthy():
    """api: 4 records (1 rejected), csv: 1 record + 1 bad line; keep passes 3, filters 1,
    dead-letters 1; shape dead-letters 1; sum absorbs 2 into one window; the sink loads it."""
    return {
        "raw": [m("raw", k, source="api") for k in "abcd"] + [m("raw", "e", source="csv")],
        "kept": [m("kept", k) for k in "abc"],
        "shaped": [m("shaped", k) for k in "ab"],
        "sums": [m("sums", "FR/0", {"n": 2})],
        DLQ: [letter("csv", "line 3: short"), letter("keep", "not a number", "e"),
              letter("shape", "division by zero", "c")],
    }


def books_of(messages, **kw):
    kw.setdefault("warehouse_keys", {"FR/0"})
    return keep_books(FEEDS, PLANS, messages, DLQ, **kw)


def test_a_healthy_run_balances_with_each_count_measured():
    books = books_of(healthy())
    assert books.balanced, (books.problems, [s.problems for s in books.steps])
    assert [(s.name, s.sent, s.on_topic, s.rejected, s.dead_lettered) for s in books.sources] == \
        [("api", 5, 4, 1, 0), ("csv", 2, 1, 0, 1)]
    assert [(s.name, s.in_, s.out, s.filtered, s.dead_lettered, s.emitted) for s in books.steps] == \
        [("keep", 5, 3, 1, 1, 3), ("shape", 3, 2, 0, 1, 2), ("sum", 2, 2, 0, 0, 1), ("sink", 1, 1, 0, 0, 0)]
    assert books.dead_letters == (("csv", "line 3: short", 1), ("keep", "not a number", 1),
                                  ("shape", "division by zero", 1))
    assert books.warehouse_rows == 1


def _break(change):
    messages = healthy()
    change(messages)
    return messages


@pytest.mark.parametrize(("change", "kwargs", "problem"), [
    pytest.param(lambda ms: ms["kept"].append(m("kept", "a")), {}, "keep: 1 records have more than one output",
                 id="duplicate-output"),
    pytest.param(lambda ms: ms["kept"].append(m("kept", "zz")), {}, "keep: 1 outputs match no input record",
                 id="output-from-nowhere"),
    pytest.param(lambda ms: ms[DLQ].append(letter("keep", "late", "a")), {},
                 "keep: 1 records both passed and were dead-lettered", id="passed-and-dead"),
    pytest.param(lambda ms: ms["shaped"].pop(), {}, "shape: a map step never filters, yet 1 input records",
                 id="map-drops-silently"),
    pytest.param(lambda ms: ms["sums"].__setitem__(0, m("sums", "FR/0", {"n": 1})), {},
                 "sum: windows count 1 emitted + 0 still open, but 2 records were absorbed", id="window-miscounts"),
    pytest.param(lambda ms: ms["sums"].append(m("sums", "FR/0", {"n": 0})), {},
                 "sum: 1 windows emitted more than once", id="window-twice"),
    pytest.param(lambda ms: None, {"warehouse_keys": set()},
                 "sink: warehouse holds 0 keys, expected 1 (1 missing, 0 unexpected)", id="row-missing"),
    pytest.param(lambda ms: None, {"lags": {"shape": 2}},
                 "shape: 2 input records not yet committed by its consumer group", id="not-consumed"),
    pytest.param(lambda ms: ms["kept"].extend([m("kept", "x1"), m("kept", "x2"), m("kept", "x3")]), {},
                 "keep: 2 more outputs and dead letters than input records", id="more-out-than-in"),
])
def test_each_rule_breaks_the_balance_and_names_the_step(change, kwargs, problem):
    books = books_of(_break(change), **kwargs)
    assert not books.balanced
    assert any(problem in p for s in books.steps for p in s.problems), [s.problems for s in books.steps]


def test_an_open_window_accounts_for_the_records_it_holds():
    messages = _break(lambda ms: ms["shaped"].append(m("shaped", "z")))
    messages["kept"].append(m("kept", "z"))
    messages["raw"].append(m("raw", "z", source="api"))
    feeds = [SourceFeed("api", "http", "raw", sent=6, rejected=1), FEEDS[1]]
    assert not keep_books(feeds, PLANS, messages, DLQ, warehouse_keys={"FR/0"}).balanced
    assert keep_books(feeds, PLANS, messages, DLQ, warehouse_keys={"FR/0"}, open_counts={"sum": 1}).balanced


def test_sources_must_account_for_every_record_they_were_given():
    books = keep_books([SourceFeed("api", "http", "raw", sent=9)], [], healthy(), DLQ)
    api = books.sources[0]
    assert (api.sent, api.on_topic, api.balanced) == (9, 4, False)
    assert books.problems == ("dead letters of unknown steps: csv, keep, shape", "raw: 1 records from no known source")
    assert not books.balanced


def test_without_unique_keys_only_the_counts_are_checked():
    messages = healthy()
    messages["raw"] = [m("raw", None, source="api") for _ in range(4)] + [m("raw", None, source="csv")]
    books = books_of(messages)
    assert books.steps[0].problems == () and books.steps[0].filtered == 1
