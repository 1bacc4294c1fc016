"""Issue 14's must-show: the data-path defects of issue 15, reproduced on the real binaries.

Each scenario runs one Kafka EventSource and one Sensor as the real ``argo-events`` v1.9.11
processes (devstack/realargo/scenario.py: a pod each on the harness's bridge, the controller's
environment) on a nats-server JetStream EventBus, against Apache Kafka 4.1 and the local gateway.
The Sensor's HTTP trigger calls the probe function (functions/probe: records every call's body
as text, its start and end; answers the status and holds the call for the time its URL asks).
The objects have the committed ones' shape (jsonBody, a group from the oldest record,
atLeastOnce, a retryStrategy, ``policy.status.allow [200]``, a Kafka dlqTrigger).

Per defect, one module-scoped run observes what happened, and two tests read it:

* ``test_today_*`` pins what the real binary does now, with exact numbers, so the other cannot
  pass or fail for a reason other than the defect;
* ``test_wanted_*`` asserts what issue 15 is to deliver, ``xfail(strict=True,
  raises=AssertionError)`` while the defect stands: it fails on its assertion, and a stack that
  did not get as far (a timeout is a ``TimeoutError``) fails the run instead of passing as
  expected. Fixed, and so plain tests now: 2 (the committed EventBus's interest retention and
  discard new make a full stream backpressure, not loss) and 3 (every deployment of ours starts
  Sensors before EventSources).

When issue 15 changes how the renderer writes EventSources, Sensors or the EventBus, these
objects must be written the same way (or by the renderer) for the wanted tests to see the fix.
"""
from __future__ import annotations

import json
import pathlib
import time
from dataclasses import dataclass
from urllib.parse import urlsplit

import pytest

from devstack.kafka_tools import consume_records
from devstack.localstack import LocalStack
from devstack.realargo import scenario as sc
from devstack.realargo.localise import local_addresses
from tests.devstack.argo.stack_helpers import committed, produce, unique
from tests.fixtures.realargo import require_real_argo

pytestmark = pytest.mark.slow

PROBE = "realargo-probe"
PROBE_DIR = pathlib.Path(__file__).parent / "functions" / "probe"
EVENT_FIELDS = {"topic", "key", "partition", "body", "timestamp", "headers"}
# A dead-letter Kafka no pod can reach: the pod's own loopback, port 1 (refused at once).
UNREACHABLE_KAFKA = ("dead-letters.invalid:9092", "127.0.0.1:1")


def wanted(reason: str):
    return pytest.mark.xfail(strict=True, raises=AssertionError, reason=f"issue 15: {reason}")


@dataclass
class Env:
    argo: object
    kafka: object
    stack: LocalStack
    record_dir: pathlib.Path
    run_dir: pathlib.Path

    @property
    def bootstrap(self) -> str:  # the host's clients (loopback listener)
        return self.stack.bootstrap

    def addresses(self) -> dict[str, str]:
        mapping = local_addresses(self.kafka.pod_bootstrap, urlsplit(self.stack.url).netloc)
        mapping[UNREACHABLE_KAFKA[0]] = UNREACHABLE_KAFKA[1]
        return mapping

    def pods(self, bus=None, eventbus=None) -> sc.ArgoPods:
        return sc.ArgoPods(self.argo.network, bus or self.argo.bus, eventbus or self.argo.eventbus,
                           self.addresses(), self.run_dir / "real-argo")


@pytest.fixture(scope="module")
def env(tmp_path_factory):
    """One pod bridge + EventBus, Apache Kafka, the gateway with the probe, for every scenario."""
    from devstack.realstack import real_stack

    require_real_argo(kafka=True)
    run_dir = tmp_path_factory.mktemp("defects")
    with real_stack(run_dir, kafka_data=run_dir / "kafka", functions=["filter"]) as parts:
        stack = parts.stack
        record_dir = run_dir / "probe-records"
        record_dir.mkdir()
        stack.deploy_folder(PROBE, PROBE_DIR, envVars={"RECORD_DIR": str(record_dir)})
        yield Env(parts.argo, parts.kafka, stack, record_dir, run_dir)

class Scenario:
    """One scenario's names (topics, group, objects, record file) and its processes."""

    def __init__(self, env: Env, name: str, *, status: int = 200, hold_ms: int = 0, pods=None,
                 dlq_url: str | None = None):
        self.env, self.name = env, unique(name)
        self.topic, self.dlq, self.group = f"{self.name}-in", f"{self.name}-dlq", f"{self.name}-group"
        env.stack.create_topics({self.topic: 1, self.dlq: 1})
        self.file = env.record_dir / f"{self.name}.jsonl"
        path = f"function/{PROBE}?file={self.name}&status={status}&hold_ms={hold_ms}"
        self.source = sc.kafka_eventsource(f"{self.name}-src", self.topic, self.group)
        self.sensor = sc.http_sensor(self.name, self.source["metadata"]["name"], path, self.dlq,
                                     **({"dlq_url": dlq_url} if dlq_url else {}))
        self.pods = pods or env.pods()

    def produce(self, records: list[dict]) -> None:
        produce(self.env.bootstrap, self.topic, records)

    def committed(self) -> int:
        """Records the EventSource marked done in Kafka (it marks once the bus accepted the event);
        -1 while a fresh broker has no group coordinator yet (NOT_COORDINATOR): polled again."""
        from confluent_kafka import KafkaException

        try:
            return committed(self.env.bootstrap, self.group, self.topic, 1)
        except KafkaException:
            return -1

    def calls(self) -> list[sc.Call]:
        return sc.calls(self.file)

    def ids(self) -> list:
        return sorted(c.event["body"]["id"] for c in self.calls())

    def answered(self) -> list[sc.Call]:
        return [c for c in self.calls() if c.ended is not None]

    def dead_letters(self, expected: int = 0, timeout: float = 3.0) -> list[dict]:
        return [r.value for r in consume_records(self.env.bootstrap, self.dlq, expected, timeout)]

    def drained(self) -> bool:
        """The Sensor's consumer has nothing pending or unacknowledged, and every call answered."""
        state = self.pods.consumer(self.sensor)
        return state.num_pending == 0 and state.num_ack_pending == 0 and \
            len(self.answered()) == len(self.calls())

    def close(self) -> None:
        self.pods.stop_all()


def records(n: int, start: int = 0) -> list[dict]:
    return [{"id": i, "amount": i * 10} for i in range(start, start + n)]


# -- 1. per-event delivery, one at a time ----------------------------------------------------------

N_SERIAL = 20
HOLD_SERIAL_MS = 100


@pytest.fixture(scope="module")
def one_at_a_time(env):
    """20 records, the function holding each call 100 ms, Sensor then EventSource as they should."""
    s = Scenario(env, "serial", hold_ms=HOLD_SERIAL_MS)
    try:
        s.pods.start_sensor(s.sensor)
        s.pods.start(s.source)
        s.produce(records(N_SERIAL))
        sc.wait_until(lambda: len({i for i in s.ids()}) == N_SERIAL and s.drained(), 60,
                      f"every one of {N_SERIAL} records delivered")
        return s.calls()
    finally:
        s.close()


def test_today_the_real_sensor_makes_one_call_per_record_and_never_two_at_once(one_at_a_time):
    made = one_at_a_time
    assert len(made) == N_SERIAL
    assert [c.event["body"]["id"] for c in made] == list(range(N_SERIAL))  # in order, one each
    assert all(set(c.event) == EVENT_FIELDS for c in made)  # one event per payload, never a list
    assert sc.max_in_flight(made) == 1
    gaps = [b.started - a.ended for a, b in zip(made, made[1:])]
    assert min(gaps) >= 0  # the next call starts only once the previous one was answered


@wanted("one event per call and one call in flight per trigger: the JetStream trigger "
        "connection fetches one message at a time (Fetch(1)) and processes it on one goroutine, "
        "the action synchronous with atLeastOnce, acked before the next fetch "
        "(pkg/eventbus/jetstream/sensor/trigger_conn.go pullSubscribe/processMsg; one payload per "
        "event, pkg/sensors/triggers/params.go). Seen: 20 records -> 20 calls, at most 1 in flight")
def test_wanted_several_records_per_call_and_calls_in_parallel(one_at_a_time):
    made = one_at_a_time
    assert len(made) < N_SERIAL, f"{len(made)} calls for {N_SERIAL} records"
    assert sc.max_in_flight(made) > 1, "never two calls in flight"


# -- 2. a full EventBus stream ---------------------------------------------------------------------

MAX_MSGS = 5
MAX_BYTES = 2500  # a few events of ~600 bytes each (the committed limit is in bytes too)
N_FULL = 20
REFUSALS = 2  # the EventSource refused this often before the Sensor comes back: it retries


@pytest.fixture(scope="module", params=[
    pytest.param((f"maxMsgs: {MAX_MSGS}\n", "maximum messages exceeded"), id="messages"),
    pytest.param((f"maxBytes: {MAX_BYTES}\n", "maximum bytes exceeded"), id="bytes"),
])
def stream_full(env, request):
    """An EventBus of its own, the committed streamConfig (interest retention, discard new) with a
    small stream (5 messages, or 2,500 bytes); its Sensor stopped (consumer kept) while the
    EventSource reads 20 records; then the Sensor started again."""
    from devstack.realargo.eventbus import NatsEventBus

    limit, refusal = request.param
    eventbus = sc.eventbus_with_stream_config(env.argo.eventbus, limit)
    bus = NatsEventBus(env.argo.host, env.run_dir / f"eventbus-small-{request.param_index}").start()
    s = Scenario(env, "full", pods=env.pods(bus=bus, eventbus=eventbus))
    try:
        s.pods.stop(s.pods.start_sensor(s.sensor))  # its durable consumer exists, the Sensor is gone
        source = s.pods.start(s.source)
        s.produce(records(N_FULL))

        def refusals() -> int:
            try:
                return sc.metric_total(sc.metrics(source), "argo_events_events_sent_failed_total")
            except OSError:  # its metrics server not listening yet
                return 0
        sc.wait_until(lambda: refusals() >= REFUSALS, 90, f"the EventSource refused {REFUSALS} times by a full stream")
        full = {"refusal": refusal, "stream": s.pods.stream(), "pending": s.pods.consumer(s.sensor).num_pending,
                "committed": s.committed(), "refusals": refusals(), "source_alive": source.alive(),
                "log": source.log_path.read_text(errors="replace")}
        s.pods.start_sensor(s.sensor)
        sc.wait_until(lambda: len(s.ids()) >= N_FULL and s.drained() and s.committed() == N_FULL, 120,
                      f"all {N_FULL} records through the Sensor and marked in Kafka")
        time.sleep(0.5)  # anything more would come now
        return {"full": full, "ids": s.ids(), "committed": s.committed(), "stream_after": s.pods.stream(),
                "dead": s.dead_letters(0, timeout=2)}
    finally:
        s.close()
        bus.stop()


def test_today_a_full_stream_refuses_new_events_and_the_records_wait_in_kafka(stream_full):
    """Discard new: the publish fails (nats-server: 'maximum messages exceeded'); the EventSource
    gives up after its retries (pkg/eventsources/eventing.go, DoWithRetry with DefaultBackoff,
    then an EventBusError), ConsumeClaim stops at that record without marking it and the group
    session starts again from the committed offset (pkg/eventsources/sources/kafka/start.go
    ConsumeClaim/processOne: MarkMessage only after dispatch succeeded)."""
    full = stream_full["full"]
    held = full["stream"].messages
    assert 0 < held < N_FULL
    assert (full["stream"].first_seq, full["stream"].last_seq) == (1, held)  # none dropped from the stream
    assert full["stream"].bytes <= MAX_BYTES or held == MAX_MSGS
    assert full["pending"] == held
    assert full["committed"] == held  # Kafka marked only what the bus took
    assert full["refusals"] >= REFUSALS and full["source_alive"]
    assert full["refusal"] in full["log"] and "Failed to publish an event" in full["log"]


def test_wanted_every_record_delivered_or_dead_lettered_when_the_stream_is_full(stream_full):
    seen = stream_full
    accounted = set(seen["ids"]) | {int(letter["key"]) for letter in seen["dead"]}
    assert accounted == set(range(N_FULL)), f"lost: {sorted(set(range(N_FULL)) - accounted)}"
    assert seen["ids"] == list(range(N_FULL))  # each exactly once (the refused ones re-read, not doubled)
    assert seen["dead"] == []
    assert seen["committed"] == N_FULL
    assert seen["stream_after"].messages == 0  # interest retention: acknowledged events leave the stream


# -- 3. events published before the Sensor subscribed ----------------------------------------------

N_EARLY, N_LATE = 10, 5


@pytest.fixture(scope="module")
def sensor_late(env):
    """The EventSource first (what `kubectl apply -R argo-events/` did: event-sources/ sorts before
    sensors/), 10 records, then the Sensor, then 5 records more. A bus of its own: what its stream
    keeps is this scenario's alone."""
    from devstack.realargo.eventbus import NatsEventBus

    bus = NatsEventBus(env.argo.host, env.run_dir / "eventbus-late").start()
    s = Scenario(env, "late", pods=env.pods(bus=bus))
    try:
        s.pods.start(s.source)
        s.produce(records(N_EARLY))
        sc.wait_until(lambda: s.committed() == N_EARLY, 60, "the EventSource published the first records")
        stream_before = s.pods.stream()
        s.pods.start_sensor(s.sensor)
        pending_at_subscribe = s.pods.consumer(s.sensor).num_pending
        s.produce(records(N_LATE, start=N_EARLY))
        late = set(range(N_EARLY, N_EARLY + N_LATE))
        sc.wait_until(lambda: late <= set(s.ids()) and s.drained(), 60, "the later records delivered")
        sc.wait_until(lambda: s.committed() == N_EARLY + N_LATE, 15, "the EventSource's commit")
        return {"ids": s.ids(), "pending_at_subscribe": pending_at_subscribe, "committed": s.committed(),
                "stream_before": stream_before}
    finally:
        s.close()
        bus.stop()


@pytest.fixture(scope="module")
def deployed_in_order(env):
    """10 records in the topic before anything is deployed; the two objects deployed as every way
    we deploy does (ArgoPods.deploy: Sensors, their consumers, then EventSources); 5 more. A bus
    of its own: what its stream keeps is this scenario's alone."""
    from devstack.realargo.eventbus import NatsEventBus

    bus = NatsEventBus(env.argo.host, env.run_dir / "eventbus-ordered").start()
    s = Scenario(env, "ordered", pods=env.pods(bus=bus))
    try:
        s.produce(records(N_EARLY))
        s.pods.deploy([s.source, s.sensor])  # listed the wrong way round on purpose
        s.produce(records(N_LATE, start=N_EARLY))
        sc.wait_until(lambda: len(s.ids()) >= N_EARLY + N_LATE and s.drained(), 60, "every record delivered")
        sc.wait_until(lambda: s.committed() == N_EARLY + N_LATE, 15, "the EventSource's commit")
        time.sleep(0.5)  # anything more would come now
        return {"ids": s.ids(), "committed": s.committed(), "stream_after": s.pods.stream()}
    finally:
        s.close()
        bus.stop()


def test_today_a_new_sensor_gets_only_what_is_published_after_it_subscribed(sensor_late):
    """Still what the real binary does: the reason every deployment of ours starts Sensors first."""
    seen = sensor_late
    assert seen["committed"] == N_EARLY + N_LATE
    assert seen["pending_at_subscribe"] == 0  # the 10 early events are not for it
    # Interest retention: accepted (sequence 1-10, Kafka committed) but not kept, no consumer wanted them.
    assert (seen["stream_before"].messages, seen["stream_before"].last_seq) == (0, N_EARLY)
    assert seen["ids"] == list(range(N_EARLY, N_EARLY + N_LATE))


def test_wanted_records_published_before_the_sensor_subscribed_are_delivered(deployed_in_order):
    """Records produced before the first deploy: the EventSource's group starts at the oldest
    record (consumerGroup.oldest), and by then the Sensor's consumer exists."""
    seen = deployed_in_order
    assert seen["ids"] == list(range(N_EARLY + N_LATE))  # every one, once
    assert seen["committed"] == N_EARLY + N_LATE
    assert seen["stream_after"].messages == 0


# -- 4. a failed trigger acknowledged anyway -------------------------------------------------------

N_FAILING, STEPS = 2, 3


@pytest.fixture(scope="module")
def failed_trigger(env):
    """The function answers 500 to everything; the dlqTrigger's Kafka is unreachable."""
    s = Scenario(env, "failing", status=500, dlq_url=UNREACHABLE_KAFKA[0])
    try:
        sensor = s.pods.start_sensor(s.sensor)
        s.pods.start(s.source)
        s.produce(records(N_FAILING))
        sc.wait_until(lambda: len(s.answered()) >= N_FAILING * STEPS, 60,
                      f"{STEPS} attempts at each of {N_FAILING} records")

        def gave_up():
            samples = sc.metrics(sensor)
            return sc.trigger_metric(samples, "argo_events_action_retries_failed_total",
                                     f"{sc.TRIGGER}-dead-letter") >= N_FAILING
        try:  # today the dead-letter attempts fail too; a fixed Sensor may never get there
            sc.wait_until(gave_up, 20, "the dlqTrigger given up")
        except TimeoutError:
            pass
        try:  # the ack (today) follows the dlqTrigger's last attempt
            sc.wait_until(lambda: s.pods.consumer(s.sensor).acked >= N_FAILING, 5, "the acks")
        except TimeoutError:
            pass
        samples = sc.metrics(sensor)
        return {"consumer": s.pods.consumer(s.sensor), "calls": s.calls(),
                "retries_failed": {t: sc.trigger_metric(samples, "argo_events_action_retries_failed_total", t)
                                   for t in (sc.TRIGGER, f"{sc.TRIGGER}-dead-letter")},
                "dead": s.dead_letters()}
    finally:
        s.close()


def test_today_a_record_whose_trigger_and_dead_letter_failed_is_acknowledged(failed_trigger):
    seen = failed_trigger
    attempts: dict[int, int] = {}
    for call in seen["calls"]:
        attempts[call.event["body"]["id"]] = attempts.get(call.event["body"]["id"], 0) + 1
    assert attempts == {i: STEPS for i in range(N_FAILING)}
    assert all(c.status == 500 for c in seen["calls"])
    assert seen["retries_failed"] == {sc.TRIGGER: N_FAILING, f"{sc.TRIGGER}-dead-letter": N_FAILING}
    consumer = seen["consumer"]
    assert (consumer.acked, consumer.num_pending, consumer.num_ack_pending) == (N_FAILING, 0, 0)
    assert seen["dead"] == []


@wanted("after the retries and the dlqTrigger failed, processMsg acknowledges the message anyway "
        "(pkg/eventbus/jetstream/sensor/trigger_conn.go: the deferred done <- true runs AckSync "
        "whatever the action did; pkg/sensors/listener.go actionFunc only logs 'failed to trigger "
        "dlqTrigger'; the Kafka dlqTrigger's producer fails to connect, pkg/sensors/triggers/kafka/"
        "kafka.go). Seen: 2 records, 3 calls each answered 500, dead-letter gave up twice, "
        "consumer ack floor 2, nothing pending, nothing in any dead-letter topic")
def test_wanted_a_record_that_could_not_be_dead_lettered_stays_in_the_bus(failed_trigger):
    consumer = failed_trigger["consumer"]
    assert consumer.acked == 0, f"{consumer.acked} failed records acknowledged"
    assert consumer.num_pending + consumer.num_ack_pending == N_FAILING


# -- 5. duplicates after a Sensor is killed mid-call -----------------------------------------------

HOLD_KILL_MS = 2000


@pytest.fixture(scope="module")
def killed_mid_call(env):
    """The function holds each call 2 s; kill -9 of the Sensor once the call arrived, the function
    finishes it (200), the Sensor started again in a new pod."""
    s = Scenario(env, "killed", hold_ms=HOLD_KILL_MS)
    try:
        sensor = s.pods.start_sensor(s.sensor)
        s.pods.start(s.source)
        s.produce(records(1))
        sc.wait_until(s.calls, 60, "the first call")
        s.pods.kill(sensor)
        killed_at = time.time()
        sc.wait_until(lambda: len(s.answered()) == 1, 10, "the function finished the cut-off call")
        s.pods.start_sensor(s.sensor)
        # The message is redelivered once its ack wait (30 s, nats.go's default) ran out.
        sc.wait_until(lambda: s.pods.consumer(s.sensor).acked >= 1 and s.drained(), 75,
                      "the record finished in the bus")
        return {"calls": s.calls(), "killed_at": killed_at}
    finally:
        s.close()


def test_today_a_sensor_killed_mid_call_makes_the_same_call_again_with_nothing_to_tell(killed_mid_call):
    made = killed_mid_call["calls"]
    assert len(made) == 2
    first, again = made
    assert (first.status, again.status) == (200, 200)  # the function applied both
    assert first.body == again.body  # byte for byte: no delivery id, offset or attempt
    assert set(again.event) == EVENT_FIELDS
    assert first.ended > killed_mid_call["killed_at"]  # it finished after its caller was gone
    assert again.started - killed_mid_call["killed_at"] > 20  # after the 30 s ack wait, not at restart


@wanted("the Sensor acks only after the HTTP call returned (pkg/eventbus/jetstream/sensor/"
        "trigger_conn.go processMsg, AckSync after the action), its de-duplication is an in-memory "
        "map lost with the process, and the payload ({{ toJson .Input }}) carries no offset or "
        "event id: kill -9 during a call -> the same body again ~30 s later (the ack wait)")
def test_wanted_a_record_is_applied_once_after_a_sensor_was_killed_mid_call(killed_mid_call):
    made = [c for c in killed_mid_call["calls"] if c.status == 200]
    assert applications(made) == 1, f"the record applied {applications(made)} times ({len(made)} calls)"


def applications(made: list[sc.Call]) -> int:
    """How many times the calls applied their record, as a step that de-duplicates would count:
    calls whose event carries the same delivery identity (any field beyond the six a Kafka event
    has today: an offset, an event id) apply once; a call without one applies every time."""
    seen, count = set(), 0
    for call in made:
        identity = {k: v for k, v in call.event.items() if k not in EVENT_FIELDS}
        if identity:
            key = json.dumps(identity, sort_keys=True)
            if key in seen:
                continue
            seen.add(key)
        count += 1
    return count


# -- 6. integers above 2**53 rounded ---------------------------------------------------------------

BIG = {"id": 12345678901234567, "big": 9223372036854775807, "just_above": 2 ** 53 + 1}


@pytest.fixture(scope="module")
def big_integers(env):
    s = Scenario(env, "numbers")
    try:
        s.pods.start_sensor(s.sensor)
        s.pods.start(s.source)
        produce(env.bootstrap, s.topic, [BIG])
        sc.wait_until(lambda: s.answered() and s.drained(), 60, "the call")
        (call,) = s.calls()
        return call
    finally:
        s.close()


def test_today_the_function_receives_big_integers_rounded_to_float64(big_integers):
    """As Go writes a float64 (the shortest text that reads back the same, so 2**63 comes as
    9223372036854776000, not 9223372036854775808); the Kafka key, a string, stays exact."""
    text = big_integers.body
    for field, digits in (("id", "12345678901234568"), ("big", "9223372036854776000"),
                          ("just_above", "9007199254740992")):
        assert f'"{field}":{digits}' in text, field
    assert big_integers.event["body"] == {"id": 12345678901234568, "big": 9223372036854776000,
                                          "just_above": 2 ** 53}
    assert big_integers.event["key"] == "12345678901234567"


@wanted("the Sensor's payload is {{ toJson .Input }} and .Input is gjson's Value() of the event "
        "data, every number a float64 (pkg/sensors/triggers/params.go): 12345678901234567 arrives "
        "as 12345678901234568, 9223372036854775807 as 9223372036854776000 (Go's shortest float text), "
        "2**53+1 as 9007199254740992")
def test_wanted_the_function_receives_the_exact_integers(big_integers):
    assert big_integers.event["body"] == BIG
