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


# -- dead letters (check_letters) ------------------------------------------------------------------
from devstack.chaos.datacheck import check_letters  # noqa: E402


def _letter(record_id, reason="derive n2: cannot apply '*' to string and number"):
    return {"step": "double", "reason": reason, "payload": {"id": record_id, "n": "x"}}


def test_one_letter_per_bad_record_with_its_reason_passes_and_copies_under_a_known_id_count_once():
    letters = [(("b1", 0), _letter("a")), (("b1", 1), _letter("b")),
               (("b1", 0), _letter("a")), (("b1", 1), _letter("b"))]  # batch b1 written twice
    c = check_letters({"a", "b"}, letters)
    assert c.ok and (c.letters, c.copies, c.missing, c.doubled) == (2, 2, 0, 0)
    assert c.reasons == {"derive n2: cannot apply '*' to string and number": 2}


def test_a_bad_record_under_two_batch_ids_is_doubled_and_one_without_a_letter_missing():
    c = check_letters({"a", "b"}, [(("b1", 0), _letter("a")), (("b2", 0), _letter("a"))])
    assert not c.ok and (c.doubled, c.missing) == (1, 1)
    assert c.samples == {"missing": ("b",), "doubled": ("a",)}


def test_a_letter_without_reason_or_for_a_good_record_fails():
    c = check_letters({"a"}, [(("b1", 0), _letter("a", reason="")), (("b1", 1), _letter("good"))])
    assert (c.without_reason, c.unexpected, c.ok) == (1, 1, False)


def test_a_sensors_letter_counts_each_record_of_the_batch_body_it_holds():
    body = {"records": [{"key": "a", "value": {"id": "a"}}, {"key": "b", "value": {"id": "b"}}]}
    letter = {"step": "double", "reason": "map did not answer 200 in 10 attempts", "payload": body}
    c = check_letters({"a", "b"}, [(("p0:7", 0), letter)])
    assert c.ok and c.letters == 1 and c.missing == 0
