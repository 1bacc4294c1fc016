"""Counters keep their invariant; one bad record (even a bug) never loses the batch."""
import pytest

from etlkit.steps import Record, RecordError, StepCounters
from etlkit.steps.outcome import each_record, run_per_record


def test_counters_refuse_a_broken_invariant():
    with pytest.raises(ValueError, match=r"in \(3\) != out \(1\) \+ filtered \(1\) \+ dead_lettered \(0\)"):
        StepCounters(3, 1, 1, 0, 1)


def test_run_per_record_sorts_every_record_into_one_bucket():
    def transform(record):
        n = record.value["n"]
        if n == 0:
            return None
        if n == 1:
            raise RecordError("one is bad")
        if n == 2:
            return {}["missing"]  # a bug, not the record's fault
        return record

    records = [Record(value={"n": n}) for n in (0, 1, 2, 3, 3)]
    outcome = run_per_record(records, "s", 4, transform)
    assert outcome.counters.as_dict() == {"in": 5, "out": 2, "filtered": 1, "dead_lettered": 2,
                                          "emitted": 2}
    assert [d.reason for d in outcome.dead_letters] == ["one is bad", "internal error: KeyError: 'missing'"]


def test_each_record_keeps_going_after_failures():
    seen = []

    def handle(record):
        seen.append(record.value["n"])
        if record.value["n"] % 2:
            raise RecordError("odd")

    dead = each_record([Record(value={"n": n}) for n in range(5)], "s", 0, handle)
    assert seen == [0, 1, 2, 3, 4] and len(dead) == 2
