"""Issue 14 item 5: the runner's behaviours on both stacks, with the same assertions.

One stack for the module (:func:`devstack.realstack.real_stack`: Apache Kafka 4.1, the gateway on
the pod bridge, a nats-server EventBus) serves two runners in turn over the same kind of
manifests: the stand-in (:class:`devstack.argo.runner.Runner`, in this process) and the real
``argo-events`` v1.9.11 processes (:class:`devstack.realargo.runner.RealArgoRunner`, a pod each).
Each stack's run has topics, groups and object names of its own, all its scenarios at once:

* retry: a function failing twice then answering 200 -> the record delivered once, the retries
  counted;
* dead letter: a function always failing -> after ``retryStrategy.steps`` attempts the message is
  in the dead-letter topic with the reason the manifest gives, its value, partition, key and
  event id;
* policy: ``policy.status.allow [200]``: a 202 is a failure (dead-lettered), and without the
  policy any answer is a success;
* the step invocation (docs/contracts.md, "Step invocation"): each call's body byte for byte the
  committed payload parameters laid out as sjson writes them, ``event`` the Kafka event data as
  the EventSource's ``json.Marshal`` wrote it (the value's own bytes, compacted, keys in their
  order) and ``id`` the Argo event id;
* a duplicated JSON key: both keys reach the function, in their order (raw bytes, no gjson
  Value() that would keep the first);
* exact numbers: 9223372036854775807, 2**53 + 1 and a 30-digit decimal reach the function with
  their digits (no float64 on the ``@this`` raw path), and the body's ``id`` is
  ``<eventsource>:<event>:<first broker>:<topic>:<partition>:<offset>``;
* a dead-letter topic that exists only after the retries gave up (the broker auto-creates
  nothing, as the committed cluster): the letter written once it exists;
* calendar: an interval EventSource ticking the committed legacy-orders Sensor's payload;
* autoscaler: the committed ``orders-ticks`` EventSource and ``orders-autoscaler`` Sensor
  calling the real autoscaler function (deployed with what its tick names): its status shows a
  decision of this run's tick.

Gone with issue 15: the Sensor data filter scenarios (the committed regular-expression filter
and the pushdown of a filter step's condition). A Kafka message is a record batch, so
``body.<field>`` names no record field: the renderer writes no ``filters`` and the local runner
refuses them; a filter step's condition runs in its function, per record.

The Sensors are the committed ones (``argo-events/sensors``), re-pointed by
:func:`devstack.realargo.scenario.retarget_sensor` at a scenario's EventSource, at the scripted
function (functions/scripted: answers each record as its ``statuses`` say, records every call)
and at a dead-letter topic of their own; payloads, retries, policies and dead-letter fields as
committed. Both runners make one call per Kafka message, as Argo does.

The assertions are about outcomes: the calls the function got and answered, the dead letters on
the topic, the autoscaler's status, and a few counters both runners keep under the same meaning
(:func:`outcome_counters`). Where the emulator differs from the real binaries the stand-in case is
to be ``xfail(strict=True)`` naming issue 14 and the fix in devstack/argo (none today); where
Argo's behaviour is a defect of ours, the real case is ``xfail(strict=True)`` naming issue 15.

The stand-in's and the real run each happen once, the first time a test asks for that stack, one
after the other (the autoscaler's status is one for both); each takes about 20 s, most of it
waiting for the committed autoscaler tick (15 s after its EventSource started).
"""
from __future__ import annotations

import json
import pathlib
import re
import time
import uuid
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Any, Callable

import pytest
import yaml
from confluent_kafka import Producer

from devstack.kafka_tools import consume_records
from devstack.realargo import scenario as sc
from devstack.realargo.localise import CLUSTER_KAFKA
from etlkit.workflow.invocation import EVENT_ACTION
from tests.fixtures.realargo import require_real_argo

pytestmark = pytest.mark.slow

STACKS = ("stand-in", "real")
SCRIPTED = "differential-scripted"
SCRIPTED_DIR = pathlib.Path(__file__).parent / "functions" / "scripted"
# The autoscaler and what its committed tick names: the functions it sizes and the matcher.
AUTOSCALER_FUNCTIONS = ["autoscaler", "matcher", "filter", "map", "enrich", "aggregate", "warehouse-loader"]
RUN_TIMEOUT_S = 60.0
# A calendar tick's time.Now() as Go prints it, monotonic reading included.
TICK_TIME = re.compile(r"^(\d{4}-\d\d-\d\d \d\d:\d\d:\d\d(\.\d+)?) \+0000 UTC m=\+\d+\.\d{9}$")
REASON = "filter did not answer 200 in 3 attempts"  # the committed orders-paid-only's dlqTrigger
STEPS = 3  # its retryStrategy.steps: attempts in all

# -- the records of each scenario (id -> what the scripted function answers) ------------------------
RETRY = [{"id": 0, "statuses": [500, 500, 200]}, {"id": 1, "name": "Zoë <&>", "tags": ["a", {"z": 1, "b": None}]},
         {"id": 2, "statuses": [503, 200]}]
DEAD = [{"id": 0, "statuses": [500], "amount": 1.5}, {"id": 1}, {"id": 2, "statuses": [500]}]
POLICY = [{"id": 0, "statuses": [202]}, {"id": 1}]
# The dead-letter topic is created only DLQ_LATE_S after the last attempt at record 0.
BLOCKED = [{"id": 0, "statuses": [500]}, {"id": 1}]
DLQ_LATE_S = 6.0
# Raw JSON with a key twice: the event data holds the value's own bytes, so the function gets both
# keys in their order (a gjson Value(), as ``toJson .Input`` was, would keep only the first).
DUPLICATES = ['{"id": 0, "measurement": "disk", "measurement": "cpu"}',
              '{"id": 1, "measurement": "cpu", "measurement": "disk"}']
# Issue 15's must-show numbers as JSON number text: int64's max, 2**53 + 1 (the first integer a
# float64 cannot hold) and a 30-digit decimal; at the top level and nested.
BIG = ("9223372036854775807", str(2**53 + 1), "12345678901234567890.1234567891")
EXACT = ['{"id":0,"int64":%s,"above_2_53":%s,"decimal":%s}' % BIG,
         '{"id":1,"nested":[%s,{"a":%s,"b":[%s]}]}' % BIG]
TICK_INTERVAL = "1s"
# A Kafka event's fields in the Sensor's payload and its record timestamp as Go prints a time.Time.
EVENT_FIELDS = ["topic", "key", "partition", "body", "timestamp", "headers"]
GO_TIME = re.compile(r"^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d(\.\d+)? \+0000 UTC$")


def on_both(**marks):
    """Parametrize ``stack`` over both stacks; ``marks``: per stack (``stand_in=``, ``real=``)."""
    return pytest.mark.parametrize("stack", [
        pytest.param(s, id=s, marks=marks.get(s.replace("-", "_"), ())) for s in STACKS])


# -- the stack --------------------------------------------------------------------------------------

@dataclass
class Env:
    parts: Any  # devstack.realstack.RealParts
    record_dir: pathlib.Path
    run_dir: pathlib.Path

    @property
    def bootstrap(self) -> str:  # the host's clients
        return self.parts.stack.bootstrap

    def autoscaler_status(self) -> dict | None:
        with self.parts.stack.session() as s:
            resp = s.get(f"{self.parts.stack.url}/function/autoscaler", params={"workflow": "orders"}, timeout=30)
        if resp.status_code == 404:
            return None
        assert resp.status_code == 200, resp.text
        return resp.json()


def autoscaler_topics() -> list[str]:
    """The input topics the committed orders-autoscaler tick measures."""
    template = sc.committed("sensors", "orders-autoscaler")["spec"]["triggers"][0]["template"]
    text = template["http"]["payload"][0]["src"]["dataTemplate"].replace(EVENT_ACTION, "{}")
    return [i["topic"] for op in json.loads(text)["scaling"]["operations"] for i in op["inputs"]]


@pytest.fixture(scope="module")
def env(tmp_path_factory):
    from devstack.realstack import real_stack

    require_real_argo(kafka=True)
    run_dir = tmp_path_factory.mktemp("differential")
    with real_stack(run_dir, kafka_data=run_dir / "kafka", functions=AUTOSCALER_FUNCTIONS) as parts:
        stack = parts.stack
        record_dir = run_dir / "scripted-records"
        record_dir.mkdir()
        stack.deploy_folder(SCRIPTED, SCRIPTED_DIR, envVars={"RECORD_DIR": str(record_dir)})
        stack.create_topics({topic: 1 for topic in autoscaler_topics()})
        yield Env(parts, record_dir, run_dir)


# -- one stack's run of every scenario --------------------------------------------------------------

def outcome_counters(stack: str, counters: dict[str, int]) -> dict[str, int]:
    """A Sensor's counters under one meaning on both runners.

    ``done``: events finished (the stand-in's commits; the real Sensor's acknowledgements);
    ``attempts``: calls of the trigger (stand-in ``requests``; real: successful + failed actions,
    ``argo_events_action_triggered_total`` + ``argo_events_action_failed_total``, both counted per
    attempt in ``pkg/sensors/listener.go`` ``triggerWithRateLimit``); ``triggered``: successful
    attempts; ``retries``: attempts after a failed one (real: failed attempts less the events whose
    last attempt failed, ``action_retries_failed_total``); ``dead_lettered``: dead letters written.
    """
    if stack == "stand-in":
        return {"done": counters["committed"], "attempts": counters["requests"], "triggered": counters["triggered"],
                "retries": counters["retried"], "dead_lettered": counters["dead_lettered"]}
    return {"done": counters["events_in"], "attempts": counters["triggered"] + counters["failed"],
            "triggered": counters["triggered"], "retries": counters["failed"] - counters["retries_failed"],
            "dead_lettered": counters["dead_lettered"]}


@dataclass
class Seen:
    """What one stack's run left: per Sensor label, its calls, dead letters and counters."""
    stack: str
    started: float
    ended: float
    names: dict[str, str]  # label -> Sensor name (also its record file)
    topics: dict[str, str]  # scenario -> input topic
    sources: dict[str, str]  # scenario -> EventSource name (also its one event's name)
    broker: str  # the first bootstrap server the EventSources were given (after localising)
    calls: dict[str, list[dict]] = field(default_factory=dict)
    letters: dict[str, list[dict]] = field(default_factory=dict)
    counters: dict[str, dict[str, int]] = field(default_factory=dict)
    autoscaler_before: dict | None = None
    autoscaler_after: dict | None = None
    autoscaler_counters: dict[str, int] = field(default_factory=dict)

    def ids(self, label: str, status: int | None = None) -> list:
        return sorted(c["id"] for c in self.calls[label] if status is None or c["status"] == status)

    def statuses(self, label: str) -> dict:
        out: dict = {}
        for call in sorted(self.calls[label], key=lambda c: c["attempt"]):
            out.setdefault(call["id"], []).append(call["status"])
        return out


def read_calls(record_dir: pathlib.Path, name: str) -> list[dict]:
    path = record_dir / f"{name}.jsonl"
    if not path.exists():
        return []
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]


def value_text(record: dict | str) -> str:
    """A record's Kafka value: a ``str`` as it is (raw JSON), a dict as compact JSON (ASCII, so
    ``ë`` is ``\\u00eb``): the text Go's json.Compact leaves as it is but for ``<``, ``>``, ``&``."""
    return record if isinstance(record, str) else json.dumps(record, separators=(",", ":"))


def produce(bootstrap: str, topic: str, records: list[dict | str]) -> None:
    """Records keyed by their ``id``, in order (idempotent: record ``i`` at offset ``i``)."""
    producer = Producer({"bootstrap.servers": bootstrap, "allow.auto.create.topics": False,
                         "enable.idempotence": True})
    for record in records:
        text = value_text(record)
        producer.produce(topic, value=text.encode(), key=str(json.loads(text)["id"]).encode(),
                         headers=[("etl-source", b"tests")])
    assert producer.flush(15) == 0, "records not acknowledged"


class Plan:
    """The manifests, topics and records of one stack's run, every name tagged for that run."""

    def __init__(self, env: Env, stack: str):
        self.env, self.stack = env, stack
        self.tag = f"{'s' if stack == 'stand-in' else 'r'}{uuid.uuid4().hex[:6]}"
        self.docs: list[dict] = []
        self.names: dict[str, str] = {}
        self.dlqs: dict[str, str] = {}
        self.topics: dict[str, str] = {}
        self.sources: dict[str, str] = {}
        self.inputs: dict[str, list[dict | str]] = {}
        self.expected_done: dict[str, int] = {}  # label -> events its Sensor finishes
        # Sensors whose dead-letter topic comes late: label -> when it is due (None: not known yet)
        self.late_dlqs: dict[str, float | None] = {}
        self.late_created: set[str] = set()

    def kafka(self, case: str, records: list[dict | str], sensors: dict[str, dict], late_dlq: bool = False) -> None:
        """A Kafka EventSource over a topic of ``records`` and, per label, a committed Sensor on it;
        ``late_dlq``: their dead-letter topics are created only DLQ_LATE_S after a record's last
        attempt (see :meth:`create_late_dlqs`)."""
        source = f"d-{case}-{self.tag}"
        topic = f"{source}-in"
        self.topics[case], self.sources[case], self.inputs[topic] = topic, source, records
        self.docs.append(sc.kafka_eventsource(source, topic, f"{source}-group"))
        for label, committed in sensors.items():
            self._sensor(label, committed, source, source)
            self.expected_done[label] = len(records)
            if late_dlq:
                self.late_dlqs[label] = None

    def calendar(self, case: str, label: str, committed: dict) -> None:
        source = f"d-{case}-{self.tag}"
        self.docs.append(sc.calendar_eventsource(source, {case: TICK_INTERVAL}))
        self._sensor(label, committed, source, case)

    def _sensor(self, label: str, committed: dict, source: str, event: str) -> None:
        name = f"d-{label}-{self.tag}"
        has_dlq = any(t.get("dlqTrigger") for t in committed["spec"]["triggers"])
        dlq = f"{name}-dlq" if has_dlq else None
        self.names[label] = name
        if dlq:
            self.dlqs[label] = dlq
        self.docs.append(sc.retarget_sensor(committed, name=name, event_source=source, event_name=event,
                                            function_path=f"function/{SCRIPTED}?file={name}", dlq_topic=dlq))

    def topics_now(self) -> dict[str, int]:
        dlqs = [t for label, t in self.dlqs.items() if label not in self.late_dlqs]
        return {t: 1 for t in [*self.inputs, *dlqs]}

    def create_late_dlqs(self, record_dir: pathlib.Path) -> bool:
        """Create each late dead-letter topic once due (DLQ_LATE_S after the last of the first
        STEPS attempts at record 0, when the Sensor has given up on it); whether all exist."""
        for label in self.late_dlqs.keys() - self.late_created:
            if self.late_dlqs[label] is None:
                attempts = sorted(c["t"] for c in read_calls(record_dir, self.names[label]) if c["id"] == 0)
                if len(attempts) >= STEPS:
                    self.late_dlqs[label] = attempts[STEPS - 1] + DLQ_LATE_S
            due = self.late_dlqs[label]
            if due is not None and time.time() >= due:
                self.env.parts.stack.create_topics({self.dlqs[label]: 1})
                self.late_created.add(label)
        return self.late_created == self.late_dlqs.keys()

    def write(self, folder: pathlib.Path) -> pathlib.Path:
        docs = self.docs + [sc.committed("event-sources", "orders-ticks"), sc.committed("sensors", "orders-autoscaler")]
        for doc in docs:
            sub = folder / ("sensors" if doc["kind"] == "Sensor" else "event-sources")
            sub.mkdir(parents=True, exist_ok=True)
            (sub / f"{doc['metadata']['name']}.yaml").write_text(yaml.safe_dump(doc, sort_keys=False))
        return folder


def paid_only() -> dict:
    return sc.committed("sensors", "orders-paid-only")


def without_policy(sensor: dict) -> dict:
    for trigger in sensor["spec"]["triggers"]:
        trigger.pop("policy", None)
    return sensor


def plan_of(env: Env, stack: str) -> Plan:
    plan = Plan(env, stack)
    plan.kafka("retry", RETRY, {"retry": paid_only()})
    plan.kafka("dead", DEAD, {"dead": paid_only()})
    plan.kafka("policy", POLICY, {"strict": paid_only(), "loose": without_policy(paid_only())})
    plan.kafka("duplicates", DUPLICATES, {"duplicates": paid_only()})
    plan.kafka("exact", EXACT, {"exact": paid_only()})
    plan.kafka("blocked", BLOCKED, {"blocked": paid_only()}, late_dlq=True)
    plan.calendar("legacy-orders", "tick", sc.committed("sensors", "orders-legacy-orders"))
    return plan


def start_runner(env: Env, stack: str, manifests: pathlib.Path, run_dir: pathlib.Path):
    parts = env.parts
    if stack == "stand-in":
        from devstack.argo.runner import Runner

        return Runner(manifests, parts.stack.bootstrap, parts.stack.url, parts.stack.credentials,
                      run_dir=run_dir, session_timeout_ms=6000, heartbeat_ms=1000).start()
    return parts.argo.runner(manifests, kafka_bootstrap=parts.kafka.pod_bootstrap, gateway_url=parts.stack.url).start()


def first_broker(env: Env, stack: str) -> str:
    """The first server of the EventSources' ``url`` as each runner reads it: the stand-in takes
    the committed cluster address as written, the real processes get it localised to the pods'
    listener (devstack/realargo/localise.py)."""
    url = CLUSTER_KAFKA if stack == "stand-in" else env.parts.kafka.pod_bootstrap
    return url.split(",")[0]


def run_stack(env: Env, stack: str) -> Seen:
    plan = plan_of(env, stack)
    env.parts.stack.create_topics(plan.topics_now())
    for topic, records in plan.inputs.items():
        produce(env.bootstrap, topic, records)
    manifests = plan.write(env.run_dir / stack / "manifests")
    before = env.autoscaler_status()
    started = time.time()
    runner = start_runner(env, stack, manifests, env.run_dir / stack / "run")
    try:
        def counters() -> dict[str, dict[str, int]]:
            raw = runner.counters
            return {label: outcome_counters(stack, raw[name]) for label, name in
                    {**plan.names, "autoscaler": "orders-autoscaler"}.items()}

        def finished() -> bool:
            if not plan.create_late_dlqs(env.record_dir):
                return False
            now = counters()
            ticked = env.autoscaler_status()
            return all(now[label]["done"] >= n for label, n in plan.expected_done.items()) and \
                len(read_calls(env.record_dir, plan.names["tick"])) >= 4 and \
                ticked is not None and ticked["ticks"] > (before or {"ticks": 0})["ticks"]

        sc.wait_until(finished, RUN_TIMEOUT_S, f"every scenario finished on the {stack} stack", interval=0.5)
        seen_counters = counters()
    finally:
        runner.stop()
    ended = time.time()
    seen = Seen(stack, started, ended, dict(plan.names), dict(plan.topics), dict(plan.sources),
                first_broker(env, stack), counters=seen_counters)
    seen.calls = {label: read_calls(env.record_dir, name) for label, name in plan.names.items()}
    # As many as the Sensor says it wrote (and half a second for any more: consume_records).
    seen.letters = {label: [r.value for r in
                            consume_records(env.bootstrap, topic, seen_counters[label]["dead_lettered"], timeout=10)]
                    for label, topic in plan.dlqs.items()}
    seen.autoscaler_before, seen.autoscaler_after = before, env.autoscaler_status()
    seen.autoscaler_counters = seen_counters["autoscaler"]
    return seen


@pytest.fixture(scope="module")
def runs(env) -> Callable[[str], Seen]:
    """``runs(stack)``: that stack's run, made the first time a test asks for it (so the stand-in's
    and the real run each happen once, one after the other: the autoscaler's status is shared)."""
    done: dict[str, Seen | BaseException] = {}

    def get(stack: str) -> Seen:
        if stack not in done:
            try:
                done[stack] = run_stack(env, stack)
            except BaseException as exc:  # noqa: BLE001 - kept, so each test of that stack says why
                done[stack] = exc
        result = done[stack]
        if isinstance(result, BaseException):
            raise RuntimeError(f"the {stack} run failed: {result!r}") from result
        return result

    return get


# -- (a) retries, then success ----------------------------------------------------------------------

@on_both()
def test_a_record_failing_twice_then_answered_200_is_delivered_once(runs, stack):
    seen = runs(stack)
    assert seen.statuses("retry") == {0: [500, 500, 200], 1: [200], 2: [503, 200]}
    assert seen.ids("retry", 200) == [0, 1, 2]  # each record applied once
    # retryStrategy {steps: 3, duration: 1s, factor: 2, jitter: 0.2}: waits of 1-1.2 s, then 2-2.4 s.
    times = [c["t"] for c in sorted(seen.calls["retry"], key=lambda c: c["t"]) if c["id"] == 0]
    waits = [b - a for a, b in zip(times, times[1:])]
    assert 0.95 <= waits[0] <= 1.2 + 0.3 and 1.95 <= waits[1] <= 2.4 + 0.4, waits
    assert {k: seen.counters["retry"][k] for k in ("done", "attempts", "triggered", "retries", "dead_lettered")} == \
        {"done": 3, "attempts": 6, "triggered": 3, "retries": 3, "dead_lettered": 0}
    assert seen.letters["retry"] == []


def go_string(text: str) -> str:
    """``text`` as a JSON string the way Go's json.Marshal writes it: UTF-8, ``<``, ``>``, ``&``,
    U+2028 and U+2029 escaped. sjson writes a string so too, unless it is printable ASCII without
    a quote or backslash (then as it is): the same text for the values of these Sensors."""
    text = json.dumps(text, ensure_ascii=False)
    for char, escaped in (("<", "\\u003c"), (">", "\\u003e"), ("&", "\\u0026"),
                          ("\u2028", "\\u2028"), ("\u2029", "\\u2029")):
        text = text.replace(char, escaped)
    return text


def go_compacted(text: str) -> str:
    """A compact JSON text of ASCII as Go's json.Compact with HTML escaping leaves it (a
    json.RawMessage through json.Marshal): ``<``, ``>`` and ``&`` (only ever inside strings) escaped."""
    return text.replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026")


def kafka_event_data(event: dict, value: str) -> str:
    """The Kafka EventSource's event data for a record of value text ``value`` (``event``: the
    call's parsed event, for its topic, key, partition and timestamp): json.Marshal of
    KafkaEventData, fields in declaration order, the body its RawMessage (argo-events
    pkg/eventsources/sources/kafka/start.go processOne, pkg/eventsources/events/event-data.go)."""
    return ('{"topic":%s,"key":%s,"partition":%d,"body":%s,"timestamp":%s,"headers":{"etl-source":"tests"}}'
            % (go_string(event["topic"]), go_string(event["key"]), event["partition"], go_compacted(value),
               go_string(event["timestamp"])))


def invocation_body(sensor: dict, event_id: str, event_data: str) -> str:
    """The body a committed step Sensor posts for one event, built by hand from its payload
    parameters: each ``dest`` a key of one object, in order; a ``value`` or the context ``id`` as
    a string, ``@this`` with ``useRawData`` the event data's bytes (argo-events
    pkg/sensors/triggers/params.go ConstructPayload: sjson.SetBytes / sjson.SetRawBytes)."""
    fields = []
    for param in sensor["spec"]["triggers"][0]["template"]["http"]["payload"]:
        src = param["src"]
        if "value" in src:
            value = go_string(src["value"])
        elif src.get("contextKey") == "id":
            value = go_string(event_id)
        elif src.get("dataKey") == "@this" and src.get("useRawData"):
            value = event_data
        else:
            raise AssertionError(f"a payload parameter this test does not build: {param}")
        fields.append(f"{go_string(param['dest'])}:{value}")
    return "{" + ",".join(fields) + "}"


def event_id(seen: Seen, case: str, offset: int) -> str:
    """The Argo Kafka event id of the record at ``offset`` of ``case``'s topic (partition 0):
    ``<eventsource>:<event>:<first broker>:<topic>:<partition>:<offset>`` (argo-events
    pkg/eventsources/sources/kafka/start.go genUniqueID; the EventSource's one event is its name)."""
    source = seen.sources[case]
    return f"{source}:{source}:{seen.broker}:{seen.topics[case]}:0:{offset}"


@on_both()
def test_each_call_is_the_committed_step_invocation_with_the_event_id_and_the_raw_event(runs, stack):
    """workflow, version and step as committed, ``id`` the record's event id, ``event`` the event
    data byte for byte: the value's own bytes (``ë`` still ``\\u00eb``, ``<&>`` escaped as Go
    does, the keys of ``{"z":1,"b":null}`` in their order)."""
    seen = runs(stack)
    for call in seen.calls["retry"]:
        body = json.loads(call["body"])
        event = body["event"]
        assert list(event) == EVENT_FIELDS
        assert (event["topic"], event["key"], event["partition"], event["headers"]) == \
            (seen.topics["retry"], str(call["id"]), 0, {"etl-source": "tests"})
        assert event["body"] == RETRY[call["id"]] and GO_TIME.match(event["timestamp"]), event
        data = kafka_event_data(event, value_text(RETRY[call["id"]]))
        assert call["body"] == invocation_body(paid_only(), event_id(seen, "retry", call["id"]), data)
    (with_text,) = [c for c in seen.calls["retry"] if c["id"] == 1]
    assert '"body":{"id":1,"name":"Zo\\u00eb \\u003c\\u0026\\u003e","tags":["a",{"z":1,"b":null}]}' in with_text["body"]


# -- (b) retries exhausted: the dead letter ---------------------------------------------------------

@on_both()
def test_a_record_failing_every_attempt_is_dead_lettered_with_its_reason_and_payload(runs, stack):
    seen = runs(stack)
    assert seen.statuses("dead") == {0: [500] * STEPS, 1: [200], 2: [500] * STEPS}
    letters = sorted(seen.letters["dead"], key=lambda letter: letter["key"])
    assert [(l["key"], l["payload"]) for l in letters] == [("0", DEAD[0]), ("2", DEAD[2])]
    for letter in letters:
        # docs/contracts.md's dead letter of a Sensor: where to replay the message from, and why.
        assert list(letter) == ["step", "reason", "payload", "topic", "partition", "key", "id", "at"]
        assert (letter["step"], letter["reason"], letter["topic"], letter["partition"]) == \
            ("paid-only", REASON, seen.topics["dead"], 0)
        assert letter["id"] == event_id(seen, "dead", int(letter["key"]))
        assert letter["at"].isdigit() and seen.started * 1000 <= int(letter["at"]) <= seen.ended * 1000
    assert {k: seen.counters["dead"][k] for k in ("done", "attempts", "triggered", "retries", "dead_lettered")} == \
        {"done": 3, "attempts": 2 * STEPS + 1, "triggered": 1, "retries": 2 * (STEPS - 1), "dead_lettered": 2}


# -- (c) policy.status.allow ------------------------------------------------------------------------

@on_both()
def test_a_202_is_a_failure_when_only_200_is_allowed_and_a_success_without_the_policy(runs, stack):
    seen = runs(stack)
    assert seen.statuses("strict") == {0: [202] * STEPS, 1: [200]}
    assert [(l["key"], l["payload"]) for l in seen.letters["strict"]] == [("0", POLICY[0])]
    assert (seen.counters["strict"]["triggered"], seen.counters["strict"]["dead_lettered"]) == (1, 1)
    # Argo without a policy: whatever the function answers is success, one call each.
    assert seen.statuses("loose") == {0: [202], 1: [200]}
    assert seen.letters["loose"] == []
    assert (seen.counters["loose"]["triggered"], seen.counters["loose"]["dead_lettered"]) == (2, 0)


# -- (d) the event's own bytes: duplicated keys, exact numbers --------------------------------------

@on_both()
def test_a_duplicated_key_reaches_the_function_twice_in_its_order(runs, stack):
    """The event data holds the value's own bytes (compacted), and ``@this`` with ``useRawData``
    passes them on: no decoding that would keep one of two equal keys (gjson's Value() kept the
    first, Python's json.loads keeps the last)."""
    seen = runs(stack)
    assert seen.ids("duplicates", 200) == [0, 1]
    bodies = {c["id"]: c["body"] for c in seen.calls["duplicates"]}
    assert '"body":{"id":0,"measurement":"disk","measurement":"cpu"}' in bodies[0]
    assert '"body":{"id":1,"measurement":"cpu","measurement":"disk"}' in bodies[1]
    assert seen.counters["duplicates"]["done"] == len(DUPLICATES)


@on_both()
def test_big_integers_and_a_long_decimal_reach_the_function_with_their_digits_and_the_event_id(runs, stack):
    """Issue 15's must-show: 9223372036854775807, 2**53 + 1 and a 30-digit decimal, each as JSON
    number text, are in the raw request body digit for digit (a float64 would make them
    9223372036854775808, 9007199254740992 and 12345678901234567000), and the body's ``id`` is the
    record's Argo event id."""
    seen = runs(stack)
    assert seen.ids("exact", 200) == [0, 1]
    for call in seen.calls["exact"]:
        offset = call["id"]
        assert f'"body":{EXACT[offset]},' in call["body"]
        assert json.loads(call["body"])["id"] == event_id(seen, "exact", offset)
    assert seen.counters["exact"]["done"] == len(EXACT)


@on_both(real=pytest.mark.xfail(strict=True, raises=AssertionError, reason=(
    "issue 15: a dead letter that cannot be written is lost: the Kafka dlqTrigger sends through "
    "sarama's AsyncProducer and only logs what fails (pkg/sensors/triggers/kafka/kafka.go: Execute "
    "puts the message on Input() and returns nil; NewKafkaTrigger's goroutine logs Errors()), so "
    "the dlqTrigger counts as done and the event is acknowledged (pkg/eventbus/jetstream/sensor/"
    "trigger_conn.go) while the topic does not exist: the Sensor logs 'successfully produced a "
    "message', then 0.8 s later 'Failed to produce message ... topic or partition that does not "
    "exist', and nothing reaches the topic once created. The stand-in holds the record, commits "
    "nothing past it and writes the letter when the topic appears")))
def test_a_dead_letter_that_cannot_be_written_yet_is_written_once_the_topic_exists(runs, stack):
    """The dead-letter topic is created 6 s after record 0's last attempt (the broker creates no
    topic by itself, as the committed cluster); record 1 comes after it on the partition."""
    seen = runs(stack)
    assert [(l["key"], l["payload"], l["reason"]) for l in seen.letters["blocked"]] == [("0", BLOCKED[0], REASON)]
    assert seen.ids("blocked", 200) == [1]
    assert seen.counters["blocked"]["done"] == len(BLOCKED)


# -- (e) a calendar interval ticking a function -----------------------------------------------------

def _tick_time(text: str) -> float:
    match = TICK_TIME.match(text)
    assert match, text
    return datetime.fromisoformat(match.group(1)).replace(tzinfo=timezone.utc).timestamp()


@on_both()
def test_a_calendar_interval_calls_the_function_each_second_with_the_committed_tick_body(runs, stack):
    seen = runs(stack)
    calls = sorted(seen.calls["tick"], key=lambda c: c["t"])
    assert len(calls) >= 4
    template = sc.committed("sensors", "orders-legacy-orders")["spec"]["triggers"][0]["template"]
    data_template = template["http"]["payload"][0]["src"]["dataTemplate"]
    fired = []
    for call in calls:
        event = json.loads(call["body"])["event"]
        assert set(event) == {"eventTime"}
        # Byte for byte the committed envelope, the event as Go's json.Marshal writes it.
        assert call["body"] == data_template.replace(EVENT_ACTION, json.dumps(event, separators=(",", ":")))
        fired.append(_tick_time(event["eventTime"]))
        assert call["status"] == 200
    gaps = [b - a for a, b in zip(fired, fired[1:])]
    assert all(0.5 <= gap <= 1.5 for gap in gaps), gaps  # interval: 1s
    assert seen.started <= fired[0] <= seen.ended


# -- (f) the autoscaler tick ------------------------------------------------------------------------

@on_both()
def test_the_committed_autoscaler_tick_makes_a_decision_the_status_shows(runs, stack):
    seen = runs(stack)
    before, after = seen.autoscaler_before or {"ticks": 0}, seen.autoscaler_after
    assert after is not None and after["ticks"] > before["ticks"]
    tick = after["last_tick"]
    assert seen.started <= tick["at"] <= seen.ended  # made by this run's tick
    assert tick["status"] in ("applied", "unchanged") and tick["workflow"] == "orders" and tick["reasons"]
    counters = seen.autoscaler_counters
    assert counters["triggered"] >= 1 and counters["attempts"] == counters["triggered"]  # every call a 200
