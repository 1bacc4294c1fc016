"""The runner as its own OS process: killed with SIGKILL mid-stream, restarted, nothing lost."""
import json
import os
import signal
import subprocess
import sys

from . import factory
from .stack_helpers import RECORDER, SESSION_TIMEOUT_MS, committed, events_of, produce, unique, wait_for

TOTAL = 120
# The recorder holds each call this long, so the stream lasts over a second: the runner is
# killed while most of it is still to come, however quickly the test sees its first 30 events
# (without it, a fast runner sometimes finished all 120 before the kill).
SLEEP_MS = 10


def _start(local_stack, manifests, run_dir):
    cmd = [sys.executable, "-m", "devstack.argo", "run", "--manifests", str(manifests),
           "--bootstrap", local_stack.bootstrap, "--gateway", local_stack.url,
           "--secrets-dir", str(local_stack.secrets_dir), "--run-dir", str(run_dir), "--log-level", "WARNING",
           # The second runner gets the partitions once the broker has given up on the killed
           # member: about two session timeouts (~13 s with the CLI's default 6000 ms). The
           # heartbeat stays at 1000 ms; a member lost to a late one only redelivers (allowed here).
           "--session-timeout-ms", str(SESSION_TIMEOUT_MS)]
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True,
                            cwd=factory.__file__.rsplit("/tests/", 1)[0])
    ready = json.loads(proc.stdout.readline())  # printed once every subscription is started
    assert ready["pid"] == proc.pid and ready["subscriptions"] == ["durable/in"]
    return proc


def test_kill_9_mid_stream_and_restart_loses_nothing(local_stack, record_dir, tmp_path):
    topic, file = unique("argo-kill"), unique("kill")
    local_stack.create_topics({topic: 2})
    manifests = factory.write(tmp_path / "m", factory.kafka_eventsource("src", topic, "g-kill"),
                              factory.sensor("durable", "src", topic, RECORDER, query=f"?file={file}"))
    produce(local_stack.bootstrap, topic, [{"id": i, "sleep_ms": SLEEP_MS} for i in range(TOTAL)])

    first = _start(local_stack, manifests, tmp_path / "run")
    try:
        wait_for(lambda: len(events_of(record_dir, file)) >= 30, 60, "the first runner to get going")
    finally:
        os.kill(first.pid, signal.SIGKILL)
        first.wait(10)
    assert first.returncode == -signal.SIGKILL
    assert committed(local_stack.bootstrap, "g-kill", topic, 2) < TOTAL  # it died mid-stream

    second = _start(local_stack, manifests, tmp_path / "run")
    try:
        wait_for(lambda: committed(local_stack.bootstrap, "g-kill", topic, 2) == TOTAL, 90,
                 "every offset committed by the second runner")
    finally:
        second.send_signal(signal.SIGTERM)
        assert second.wait(30) == 0  # a clean stop

    ids = [event["body"]["id"] for event in events_of(record_dir, file)]
    assert set(ids) == set(range(TOTAL))  # at least once: duplicates allowed, nothing missing
    status = json.loads((tmp_path / "run" / "argo-events-status.json").read_text())
    assert status["pid"] == second.pid and not status["running"]
