"""The data check catches every way a record can go wrong, and passes only the exact outcome."""
from devstack.chaos.datacheck import check, checksum

EXPECTED = {f"r{i}": {"seq": i, "payload": f"p{i}"} for i in range(5)}
ACKED = ["r0", "r1", "r2", "r3"]  # r4 was never acknowledged


def rows(*ids, **changed):
    return [(i, changed.get(i, EXPECTED[i])) for i in ids]


def test_every_acknowledged_record_once_is_ok():
    result = check(EXPECTED, ACKED, rows("r0", "r1", "r2", "r3"))
    assert result.ok
    assert (result.acknowledged, result.unacknowledged, result.unacknowledged_landed) == (4, 1, 0)
    assert result.checksum_acknowledged == result.checksum_warehouse


def test_an_unacknowledged_record_that_landed_anyway_is_no_loss():
    result = check(EXPECTED, ACKED, rows("r0", "r1", "r2", "r3", "r4"))
    assert result.ok and result.unacknowledged_landed == 1


def test_a_missing_acknowledged_record_fails():
    result = check(EXPECTED, ACKED, rows("r0", "r1", "r3"))
    assert not result.ok
    assert result.missing == 1 and result.samples["missing"] == ("r2",)
    assert result.checksum_acknowledged != result.checksum_warehouse


def test_a_duplicate_row_fails_even_with_the_same_content():
    result = check(EXPECTED, ACKED, rows("r0", "r1", "r2", "r3", "r3"))
    assert not result.ok and result.duplicates == 1 and result.samples["duplicates"] == ("r3",)
    assert result.checksum_acknowledged != result.checksum_warehouse


def test_changed_content_fails():
    result = check(EXPECTED, ACKED, rows("r0", "r1", "r2", "r3", r1={"seq": 1, "payload": "other"}))
    assert not result.ok and result.corrupted == 1


def test_a_row_nobody_sent_fails():
    result = check(EXPECTED, ACKED, rows("r0", "r1", "r2", "r3") + [("ghost", {"seq": 9})])
    assert not result.ok and result.unexpected == 1


def test_the_checksum_does_not_depend_on_order_but_on_every_line():
    assert checksum(["a", "b"]) == checksum(["b", "a"])
    assert checksum(["a", "b"]) != checksum(["a", "b", "b"])
