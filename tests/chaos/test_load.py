"""Writers retry until acknowledged and never count an unacknowledged record as written."""
import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from devstack.chaos.load import Clock, Ledger, OpLog, Writer, backoff, interpret
from devstack.chaos.measure import WRITE


def _results(*states):
    return {"results": [{"index": i, "status": s, **({"error": "x: bad"} if s == "rejected" else {})}
                        for i, s in enumerate(states)]}


@pytest.mark.parametrize("status,doc,acked,rejected,retry", [
    (200, _results("accepted", "accepted"), ("a", "b"), (), False),
    (207, _results("accepted", "rejected"), ("a",), ("b",), False),
    (400, _results("rejected", "rejected"), (), ("a", "b"), False),
    (503, {"error": "kafka: 2 records unacknowledged", "accepted": 0}, (), (), True),
    (502, None, (), (), True),
    (200, {"results": []}, (), (), True),  # an answer that does not cover the batch
    (401, {"error": "Unauthorized"}, (), (), True),
], ids=["all-accepted", "partial", "all-rejected", "kafka-unacknowledged", "bad-gateway",
        "short-answer", "unauthorized"])
def test_only_an_accepted_result_acknowledges_a_record(status, doc, acked, rejected, retry):
    answer = interpret(status, doc, ["a", "b"])
    assert answer.acked == acked
    assert tuple(i for i, _ in answer.rejected) == rejected
    assert answer.retry is retry
    if retry:
        assert answer.error.startswith(f"HTTP {status}")


def test_backoff_grows_to_its_cap_with_jitter_in_the_upper_half():
    assert backoff(0, 0.05, 0.5, lambda: 0.0) == pytest.approx(0.025)
    assert backoff(0, 0.05, 0.5, lambda: 1.0) == pytest.approx(0.05)
    assert backoff(3, 0.05, 0.5, lambda: 1.0) == pytest.approx(0.4)
    assert backoff(40, 0.05, 0.5, lambda: 1.0) == pytest.approx(0.5)


class _FlakyIngest(BaseHTTPRequestHandler):
    """503 twice, then a connection dropped without an answer, then every record accepted."""
    protocol_version = "HTTP/1.1"
    calls = []

    def do_POST(self):
        batch = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
        self.calls.append([r["id"] for r in batch])
        n = len(self.calls)
        if n == 3:
            self.close_connection = True
            self.connection.shutdown(2)
            return
        body = (json.dumps({"error": "kafka: unacknowledged", "accepted": 0}) if n <= 2 else
                json.dumps({"accepted": len(batch), "rejected": 0,
                            "results": [{"index": i, "status": "accepted"} for i in range(len(batch))]}))
        self.send_response(503 if n <= 2 else 200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body.encode())

    def log_message(self, *args):
        pass


@pytest.fixture
def flaky_writer():
    """A writer (batch size, backoff) against a fresh _FlakyIngest on loopback."""
    _FlakyIngest.calls = []
    server = ThreadingHTTPServer(("127.0.0.1", 0), _FlakyIngest)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    ledger, log = Ledger(Clock()), OpLog()
    stop, give_up = threading.Event(), threading.Event()

    def make(batch, backoff_s):
        return Writer(0, f"http://127.0.0.1:{server.server_address[1]}/", ("u", "p"), ledger, log,
                      period_s=60, batch=batch, timeout_s=5, backoff_s=backoff_s, stop=stop,
                      give_up=give_up)

    yield make, ledger, log, stop, give_up
    stop.set()
    give_up.set()
    server.shutdown()


def test_a_writer_sends_the_same_batch_until_it_is_acknowledged(flaky_writer):
    make, ledger, log, stop, _give_up = flaky_writer
    writer = make(batch=5, backoff_s=(0.01, 0.02))
    writer.start()
    while len(ledger.acked) < 5:
        writer.join(0.05)
        assert writer.is_alive()
    stop.set()
    writer.join(10)
    assert len(_FlakyIngest.calls) == 4
    assert all(call == _FlakyIngest.calls[0] for call in _FlakyIngest.calls)  # the same records
    assert set(ledger.acked) == set(_FlakyIngest.calls[0]) == set(ledger.content)
    assert [op.ok for op in log.ops] == [False, False, False, True]
    assert all(op.kind == WRITE for op in log.ops)
    assert log.ops[0].error.startswith("HTTP 503") and log.ops[2].error == "ConnectionError"


def test_a_writer_told_to_give_up_leaves_its_records_unacknowledged(flaky_writer):
    make, ledger, log, stop, give_up = flaky_writer
    writer = make(batch=3, backoff_s=(5.0, 5.0))
    writer.start()
    while not log.ops:
        writer.join(0.02)
    stop.set()
    give_up.set()
    writer.join(10)
    assert not writer.is_alive()
    assert len(ledger.content) == 3 and ledger.acked == {}


def test_every_nth_record_of_a_ledger_is_one_the_map_step_dead_letters():
    from devstack.chaos.load import BAD_N, is_bad

    ledger = Ledger(Clock(), bad_every=3)
    batch = ledger.new_batch(0, 7)
    assert [is_bad(r) for r in batch] == [False, False, True, False, False, True, False]
    assert all(r["n"] == BAD_N for r in batch if is_bad(r))
    assert not any(is_bad(r) for r in Ledger(Clock()).new_batch(0, 7))
