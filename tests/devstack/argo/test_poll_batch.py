"""How a batch is filled: wait for its first message, then take what follows without a pause."""
from devstack.argo.runner import DRAINED_S, poll_batch


class ScriptedConsumer:
    """poll() gives ``first``; each consume() the next list of ``bursts`` (then nothing)."""

    def __init__(self, first, bursts):
        self.first, self.bursts, self.calls = first, list(bursts), []

    def poll(self, timeout):
        self.calls.append(("poll", timeout))
        return self.first

    def consume(self, num_messages, timeout):
        self.calls.append(("consume", num_messages, timeout))
        return self.bursts.pop(0)[:num_messages] if self.bursts else []


def test_a_paused_stream_sends_what_arrived_without_waiting_for_a_full_batch():
    consumer = ScriptedConsumer("m0", [["m1", "m2"], []])
    assert poll_batch(consumer, 500, 0.2) == ["m0", "m1", "m2"]
    assert consumer.calls[0] == ("poll", 0.2)  # the batch wait applies to the first message only
    assert all(c[2] == DRAINED_S for c in consumer.calls[1:])


def test_a_busy_stream_fills_the_batch_and_stops_at_its_size():
    consumer = ScriptedConsumer("m0", [[f"a{i}" for i in range(3)], [f"b{i}" for i in range(9)]])
    batch = poll_batch(consumer, 8, 0.2)
    assert batch == ["m0", "a0", "a1", "a2", "b0", "b1", "b2", "b3"]
    assert consumer.calls[-1] == ("consume", 4, DRAINED_S)  # asks only for what still fits


def test_nothing_within_the_wait_is_an_empty_batch():
    consumer = ScriptedConsumer(None, [["never"]])
    assert poll_batch(consumer, 10, 0.05) == [] and consumer.calls == [("poll", 0.05)]
