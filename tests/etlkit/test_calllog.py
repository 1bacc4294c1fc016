"""A call's notes (step, records, dead-letter reasons) and the last error per step."""
import threading

from etlkit import calllog


def test_a_calls_notes_add_up_and_keep_the_first_reasons():
    calllog.reset()
    calllog.begin()
    calllog.note_step("orders", "paid")
    calllog.note_records("orders", "paid", {"in": 3, "out": 1, "dead_lettered": 2})
    calllog.note_records("orders", "paid", {"in": 1, "out": 1})
    calllog.note_dead_letters([("a", "amount: not a number")] + [(None, f"line {i}") for i in range(4)])
    notes = calllog.finish(200, None, 1.0)
    assert (notes.workflow, notes.step) == ("orders", "paid")
    assert notes.records == {"in": 4, "out": 2, "dead_lettered": 2}
    assert notes.reasons == ["key 'a': amount: not a number", "line 0", "line 1"]
    assert notes.more_reasons == 2
    assert calllog.last_errors() == []  # a 200 is no error


def test_an_error_is_its_steps_last_and_notes_outside_a_call_are_dropped():
    calllog.reset()
    calllog.note_step("w", "ignored")  # no call open (the stock template): nothing happens
    for at, reason in ((1.0, "first"), (2.0, "second")):
        calllog.begin()
        calllog.note_step("w", "s")
        calllog.finish(400, reason, at)
    calllog.begin()
    calllog.finish(503, "kafka: down", 3.0)  # before the envelope named a step
    assert [e.to_dict() for e in calllog.last_errors()] == [
        {"workflow": "", "step": "", "at": 3.0, "status": 503, "reason": "kafka: down"},
        {"workflow": "w", "step": "s", "at": 2.0, "status": 400, "reason": "second"}]


def test_calls_on_two_threads_keep_their_own_notes():
    calllog.reset()
    seen = {}

    def call(step):
        calllog.begin()
        calllog.note_step("w", step)
        barrier.wait()
        seen[step] = calllog.finish(200, None, 0.0).step

    barrier = threading.Barrier(2)
    threads = [threading.Thread(target=call, args=(s,)) for s in ("a", "b")]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert seen == {"a": "a", "b": "b"}


def test_the_steps_kept_are_bounded():
    calllog.reset()
    for i in range(calllog.MAX_STEPS + 5):
        calllog.begin()
        calllog.note_step("w", f"s{i}")
        calllog.finish(400, "x", float(i))
    kept = calllog.last_errors()
    assert len(kept) == calllog.MAX_STEPS and min(e.at for e in kept) == 5.0
    calllog.reset()
