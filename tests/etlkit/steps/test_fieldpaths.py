"""WorkingCopy: copy-on-write writes through nested objects."""
import pytest

from etlkit.steps import RecordError
from etlkit.steps.fieldpaths import WorkingCopy, read_path


def test_writes_copy_only_the_branch_they_touch():
    original = {"a": {"b": {"c": 1}}, "other": {"x": 1}}
    work = WorkingCopy(original)
    work.set(("a", "b", "d"), 2)
    work.set(("a", "b", "e"), 3)
    assert original == {"a": {"b": {"c": 1}}, "other": {"x": 1}}
    assert work.root == {"a": {"b": {"c": 1, "d": 2, "e": 3}}, "other": {"x": 1}}
    assert work.root["other"] is original["other"]  # untouched branches are shared, not copied


def test_pop_and_has():
    work = WorkingCopy({"a": {"b": None}})
    assert work.has(("a", "b")) and not work.has(("a", "c")) and not work.has(("x", "y"))
    assert work.pop(("a", "b")) is None and work.root == {"a": {}}
    assert work.pop(("nope",)) is None


def test_reading_through_a_scalar_is_a_record_error():
    with pytest.raises(RecordError, match="^field a.b.c: a.b is a number, not an object$"):
        read_path({"a": {"b": 5}}, ("a", "b", "c"))
    assert read_path({"a": None}, ("a", "b"), "dflt") == "dflt"
