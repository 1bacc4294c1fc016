"""The faults of ``faas-etl chaos --real``, each a function of the running :class:`RealChaosStack`.

As in :mod:`.faults`: each returns a one-line description and returns once its action is over
(the harness times both ends); rounds alternate the victim or the harshness.
"""
from __future__ import annotations

import os
import signal
import time
from typing import Callable

from etlkit.durations import parse_duration_ms

from .config import ChaosConfig, ScheduledFault
from .faults import restart_warehouse
from .realenv import STREAM_MAX_MSGS, TRIGGER_TIMEOUT, RealChaosStack

# How long a Deployment takes to replace a dead pod is the kubelet's business (seconds); the
# fault waits this long before the replacement starts, so the gap shows in the measurement.
POD_REPLACE_S = 2.0
FILL_TIMEOUT_S = 60.0   # the stalled Sensor is resumed at the latest after this
# Once the stream is full, it stays so this long: past the EventSource's publish retries
# (argo-events v1.9.11 pkg/eventsources/eventing.go: DoWithRetry with DefaultBackoff, 5 tries
# about 1-2 s apart, pkg/shared/util/retry.go), so the publish fails for good with an EventBus
# error, its Kafka consumer leaves the claim unmarked (pkg/eventsources/sources/kafka/start.go
# ConsumeClaim: break) and sarama ends the session: the records must come again from Kafka.
FULL_HOLD_S = 15.0
STALL_PAST_TIMEOUT_S = 5.0  # a slow function answers this long after the trigger gave up
DLQ_DOWN_S = 15.0       # how long the dead-letter topic refuses writes
REPLAY_MESSAGES = 100   # a replay re-produces this many of the loader input's last messages, per partition


def _names(env: RealChaosStack, kind: str) -> list[str]:
    return sorted({p.name for p in env.runner.processes.values() if p.kind == kind})


def _kill_and_replace(env: RealChaosStack, kind: str, fault: ScheduledFault) -> str:
    names = _names(env, kind)
    name = names[fault.round % len(names)]
    old = env.runner.process(kind, name)
    env.runner.kill(kind, name)
    time.sleep(POD_REPLACE_S)
    new = env.runner.restart(kind, name)
    env.restarts[name] = env.restarts.get(name, 0) + 1
    return f"{kind} {name}: pid {old.pid} killed -9, pid {new.pid} started in a new pod"


def kill_sensor(env: RealChaosStack, config: ChaosConfig, fault: ScheduledFault) -> str:
    """kill -9 one Sensor mid-stream (its calls in flight are never acknowledged: the bus
    redelivers them to the replacement), then a new pod as its Deployment would start."""
    return _kill_and_replace(env, "Sensor", fault)


def kill_eventsource(env: RealChaosStack, config: ChaosConfig, fault: ScheduledFault) -> str:
    """kill -9 one EventSource mid-stream (offsets it marked but had not committed are read
    again by the replacement, once Kafka expired the dead member)."""
    return _kill_and_replace(env, "EventSource", fault)


def fill_eventbus(env: RealChaosStack, config: ChaosConfig, fault: ScheduledFault) -> str:
    """Stall (SIGSTOP) the Sensor of the first step while its EventSource keeps publishing,
    until the stream holds its ``maxMsgs`` and refuses more, for ``FULL_HOLD_S``; then resume."""
    from ..realargo.eventbus import stream_state

    sensor = env.runner.process("Sensor", _names(env, "Sensor")[fault.round % len(_names(env, "Sensor"))])
    failed_before = _sent_failed(env)
    os.kill(sensor.pid, signal.SIGSTOP)
    started, full_at, peak = time.monotonic(), None, 0
    try:
        while time.monotonic() - started < FILL_TIMEOUT_S:
            peak = max(peak, stream_state(env.bus.jsz()).messages)
            if peak >= STREAM_MAX_MSGS and full_at is None:
                full_at = time.monotonic()
            if full_at is not None and time.monotonic() - full_at >= FULL_HOLD_S:
                break
            time.sleep(0.2)
    finally:
        os.kill(sensor.pid, signal.SIGCONT)
    held = time.monotonic() - started
    return (f"Sensor {sensor.name} stalled {held:.1f}s: stream peaked at {peak} of {STREAM_MAX_MSGS} "
            + (f"(full after {full_at - started:.1f}s)" if full_at else "(never full)")
            + f"; publishes failed after their retries: {_sent_failed(env) - failed_before}")


def _sent_failed(env: RealChaosStack) -> int:
    """Events the running EventSources gave up publishing (``argo_events_events_sent_failed_total``,
    argo-events v1.9.11 pkg/metrics/metrics.go), summed."""
    import urllib.request

    from etlkit.controller.measure import parse_prometheus

    total = 0
    for proc in env.runner.processes.values():
        if proc.kind != "EventSource":
            continue
        try:
            with urllib.request.urlopen(proc.metrics_url, timeout=5) as resp:
                metrics = parse_prometheus(resp.read().decode())
        except OSError:
            continue
        total += int(sum(v for (name, _labels), v in metrics.items()
                         if name == "argo_events_events_sent_failed_total"))
    return total


def _topic_setting(bootstrap: str, topic: str, name: str, value: str | None) -> None:
    """Set one topic config (None: back to the cluster's default)."""
    from confluent_kafka.admin import AdminClient, AlterConfigOpType, ConfigEntry, ConfigResource, ResourceType

    op = AlterConfigOpType.DELETE if value is None else AlterConfigOpType.SET
    entry = ConfigEntry(name, "" if value is None else value, incremental_operation=op)
    admin = AdminClient({"bootstrap.servers": bootstrap})
    resource = ConfigResource(ResourceType.TOPIC, topic, incremental_configs=[entry])
    for future in admin.incremental_alter_configs([resource]).values():
        future.result(15)


def dlq_unreachable(env: RealChaosStack, config: ChaosConfig, fault: ScheduledFault) -> str:
    """The dead-letter topic takes no write for ``DLQ_DOWN_S``: its ``max.message.bytes`` set to
    1, so the broker refuses every batch written to it (MESSAGE_TOO_LARGE) while every other
    topic works. The bad records of that time must still end as one letter each.

    Not ``min.insync.replicas`` above the replicas: Apache Kafka 4.1 accepts that topic setting
    and goes on taking ``acks=all`` writes (measured on the three-node cluster here; with
    eligible leader replicas, KIP-966, the cluster's value rules)."""
    topic = env.path.dead_letter
    started = time.monotonic()
    _topic_setting(env.bootstrap, topic, "max.message.bytes", "1")
    try:
        probe = _probe_write(env.bootstrap, topic)
        time.sleep(max(0.0, DLQ_DOWN_S - (time.monotonic() - started)))
    finally:
        _topic_setting(env.bootstrap, topic, "max.message.bytes", None)
    return f"{topic} refused every write {DLQ_DOWN_S:g}s (max.message.bytes 1); a probe write: {probe}"


def _probe_write(bootstrap: str, topic: str) -> str:
    """Whether a write to ``topic`` is refused now, said in a few words. The probe is no letter:
    should the refusal not hold, the letter check names it (a letter for no bad record)."""
    from etlkit.outrecord import out_record

    from ..topic_io import produce_exact

    try:
        produce_exact(bootstrap, [out_record(topic, b"{}", None, (), None, 0)], 10)
    except RuntimeError as exc:
        return f"refused ({exc})"
    return "ACCEPTED: the fault did not hold"


def replay_loader_input(env: RealChaosStack, config: ChaosConfig, fault: ScheduledFault) -> str:
    """``faas-etl replay`` of the warehouse loader's input topic, the last ``REPLAY_MESSAGES``
    messages of each partition, while everything runs: the same batches (same ``etl-batch`` ids)
    produced again. By offsets, not by time: a step's output carries its input's timestamps, so a
    pipeline running behind may have written nothing stamped in the last seconds."""
    from ..replay import range_records, ranges
    from ..topic_io import produce_exact, read_topics

    topic = env.path.step_topic
    messages, partitions = read_topics(env.bootstrap, [topic], 30)
    spans = []
    for partition in range(partitions[topic]):
        offsets = sorted(m.offset for m in messages[topic] if m.partition == partition)
        if offsets:
            start = offsets[-min(REPLAY_MESSAGES, len(offsets))]
            spans += ranges([partition], topic, messages[topic], from_offset=start)
    records = range_records(messages[topic], spans, env.kafka.pod_bootstrap)
    written = produce_exact(env.bootstrap, records, 30)
    return f"replayed {written} messages of {topic} (the last {REPLAY_MESSAGES} of each partition)"


def slow_function(env: RealChaosStack, config: ChaosConfig, fault: ScheduledFault) -> str:
    """Every replica of the map function stalls (SIGSTOP) past the Sensor's trigger timeout:
    calls in flight time out and are retried while the first attempts are still to finish."""
    stall = parse_duration_ms(TRIGGER_TIMEOUT) / 1000 + STALL_PAST_TIMEOUT_S
    workers = env.stack.gateway.replicas.ready_workers("map")
    for w in workers:
        os.kill(w.pid, signal.SIGSTOP)
    try:
        time.sleep(stall)
    finally:
        for w in workers:
            os.kill(w.pid, signal.SIGCONT)
    return f"map's {len(workers)} replicas stalled {stall:g}s (trigger timeout {TRIGGER_TIMEOUT})"


def restart_broker(env: RealChaosStack, config: ChaosConfig, fault: ScheduledFault) -> str:
    """One node of the three restarted: round 0 killed -9, then stopped cleanly; nodes in turn."""
    node = 1 + fault.round % env.kafka.nodes
    if fault.round % 2 == 0:
        env.kafka.kill_node(node)
        how = "killed -9"
    else:
        env.kafka.stop_node(node)
        how = "stopped (SIGTERM)"
    env.kafka.start_node(node)
    return f"Kafka node {node} {how} and started again (acks=all, min.insync.replicas=2)"


REAL_INJECTORS: dict[str, Callable[[RealChaosStack, ChaosConfig, ScheduledFault], str]] = {
    "kill-sensor": kill_sensor,
    "kill-eventsource": kill_eventsource,
    "fill-eventbus": fill_eventbus,
    "dlq-unreachable": dlq_unreachable,
    "replay": replay_loader_input,
    "slow-function": slow_function,
    "restart-broker": restart_broker,
    "restart-warehouse": restart_warehouse,
}
