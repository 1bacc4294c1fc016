"""The committed step Sensors' payloads, built by Argo Events' own code (v1.9.11).

Each case gives a Kafka message to ``argo-conformance`` (``make tools``; source
``tools/go/argo-events/conformance/main.go``, client ``devstack.argo.oracle``), which builds the
event as the Kafka EventSource and the EventBus do and runs ``triggers.ConstructPayload``
(``pkg/sensors/triggers/params.go``) with a committed trigger's parameters: the exact bytes a
step function or the dead-letter topic receives. Those bytes then go through the step
function's own parser (``etlkit.stepfn.parse_invocation``) and batch decoder.

What must hold (issue 15, "Exact values"): a record holding 9223372036854775807, 2**53 + 1 and
a 30-digit decimal reaches the function with those digits (``dataKey: "@this"`` with
``useRawData`` splices the event data's own bytes; ``{{ toJson .Input }}`` goes through float64,
shown below so this test can tell the two apart), and ``id`` is the event id the Kafka
EventSource gives (``genUniqueID`` in ``pkg/eventsources/sources/kafka/start.go``).

One oracle process for the module (the ``oracle`` fixture, tests/devstack/conftest.py).
"""
from __future__ import annotations

import dataclasses
import json
import pathlib
from decimal import Decimal

import pytest
import yaml

from devstack.argo.oracle import Message, Oracle
from etlkit import wire
from etlkit.outrecord import out_record
from etlkit.stepfn import parse_invocation
from etlkit.steps.argo_event import records_from_batch_event
from etlkit.workflow import invocation

REPO = pathlib.Path(__file__).resolve().parents[3]
ARGO = REPO / "argo-events"
INT64_MAX = 9223372036854775807
ABOVE_2_53 = 2**53 + 1  # 9007199254740993: the first integer a float64 cannot hold
DECIMAL_30 = "123456789012345.678901234567890"  # 30 significant digits
RECORD = f'{{"order_id":"O-1","big":{INT64_MAX},"odd":{ABOVE_2_53},"amount":{DECIMAL_30},"name":"caf\u00e9"}}'


def _step_sensors() -> list:
    """Committed Sensors whose triggers call a step (they have a dead-letter trigger)."""
    found = []
    for path in sorted((ARGO / "sensors").glob("*.yaml")):
        sensor = yaml.safe_load(path.read_text(encoding="utf-8"))
        if all("dlqTrigger" in t for t in sensor["spec"]["triggers"]):
            found.append(pytest.param(sensor, id=path.stem))
    return found


STEP_SENSORS = _step_sensors()


def _message(sensor: dict, *, batch: bool = True, partition: int = 4, offset: int = 41) -> tuple[str, Message]:
    """The first dependency's name and a message on its topic, as its committed EventSource reads it:
    a record batch of RECORD (``etl-batch`` header), or RECORD alone as a foreign producer writes it."""
    dependency = sensor["spec"]["dependencies"][0]
    source = yaml.safe_load((ARGO / "event-sources" / f"{dependency['eventSourceName']}.yaml").read_text())
    settings = source["spec"]["kafka"][dependency["eventName"]]
    topic = settings["topic"]
    if batch:
        record = out_record(topic, RECORD.encode(), b"O-1", (("etl-source", b"orders-api"),), 1795255200123, partition)
        [message] = wire.batches([record], "test-origin", lambda _topic: 6)
        value, headers = message.value, message.headers
    else:
        value, headers = RECORD.encode(), (("etl-source", b"kcat"),)
    return dependency["name"], Message(value=value, key=None if batch else b"O-1", topic=topic, partition=partition,
                                       offset=offset, headers=headers, event_source=dependency["eventSourceName"],
                                       event_name=dependency["eventName"], url=settings["url"])


def _payload(oracle: Oracle, dependency: str, message: Message, parameters: list) -> bytes:
    result = oracle.payload({dependency: message}, parameters)
    assert set(result) == {"payload"}, result
    return result["payload"]


def test_there_are_step_sensors_to_check():
    assert len(STEP_SENSORS) >= 5


@pytest.mark.parametrize("sensor", STEP_SENSORS)
def test_the_step_receives_the_event_data_byte_for_byte_and_its_id(oracle, sensor):
    dependency, message = _message(sensor)
    [trigger] = [t for t in sensor["spec"]["triggers"] if t["template"].get("conditions", dependency) == dependency]
    parameters = trigger["template"]["http"]["payload"]
    event_data = oracle.event(message)["data"]  # the event as the Sensor holds it

    body = _payload(oracle, dependency, message, parameters)

    # The event is the event data's own bytes: every digit as the producer wrote it.
    assert body.endswith(b',"event":' + event_data + b"}")
    for digits in (str(INT64_MAX), str(ABOVE_2_53), DECIMAL_30):
        assert digits.encode() in event_data
    doc = json.loads(body, parse_float=Decimal)
    assert list(doc) == ["workflow", "version", "step", "id", "event"]
    sent = doc["event"]["body"]["records"][0]["value"]
    assert (sent["big"], sent["odd"], sent["amount"]) == (INT64_MAX, ABOVE_2_53, Decimal(DECIMAL_30))
    # <eventsource>:<event>:<first broker>:<topic>:<partition>:<offset>
    assert doc["id"] == f"{message.event_source}:{message.event_name}:{message.url}:{message.topic}:4:41"
    assert doc["workflow"] == sensor["metadata"]["labels"]["faas-etl.dev/workflow"]
    assert doc["version"] == sensor["metadata"]["annotations"]["faas-etl.dev/workflow-version"]
    step = json.loads(doc["step"])
    assert step["name"] == sensor["metadata"]["labels"]["faas-etl.dev/operation"]
    # What the step function makes of it: the batch's identity, the exact record.
    parsed = parse_invocation(body)
    assert parsed.step == step and parsed.version == int(doc["version"])
    assert parsed.identity == dict(message.headers)[wire.BATCH_HEADER].decode()
    event = parsed.event
    records, bad = records_from_batch_event(event)
    assert bad == []
    [record] = records
    assert record.partition == 4 and record.key == "O-1" and record.headers == {"etl-source": "orders-api"}
    assert (record.value["big"], record.value["odd"], record.value["name"]) == (INT64_MAX, ABOVE_2_53, "caf\u00e9")


def test_a_plain_message_is_identified_by_its_argo_event_id(oracle):
    sensor = next(p.values[0] for p in STEP_SENSORS if p.id == "orders-paid-only")
    dependency, message = _message(sensor, batch=False, partition=2, offset=9)
    parameters = sensor["spec"]["triggers"][0]["template"]["http"]["payload"]

    parsed = parse_invocation(_payload(oracle, dependency, message, parameters))

    assert parsed.identity == "orders-raw:orders-raw:etl-kafka-bootstrap.kafka.svc:9092:orders-raw:2:9"
    # After a rebalance another lane (another event of the EventSource) reads the partition: the
    # Argo id names that lane, the identity does not, so a redelivery there is still a duplicate.
    lane = sensor["spec"]["dependencies"][3]
    again = dataclasses.replace(message, event_name=lane["eventName"])
    trigger = next(t for t in sensor["spec"]["triggers"] if t["template"]["conditions"] == lane["name"])
    body = _payload(oracle, lane["name"], again, trigger["template"]["http"]["payload"])
    # The Argo id names the workflow's EventSource and the lane; the identity neither.
    assert json.loads(body)["id"] == "orders-orders-raw:orders-raw-3:etl-kafka-bootstrap.kafka.svc:9092:orders-raw:2:9"
    assert parse_invocation(body).identity == parsed.identity
    event = parsed.event
    assert event["key"] == "O-1" and event["partition"] == 2
    assert (event["body"]["big"], event["body"]["odd"]) == (INT64_MAX, ABOVE_2_53)


def test_the_go_template_payload_it_replaces_loses_the_digits(oracle):
    """The oracle tells the two apart: ``{{ toJson .Input }}`` passes numbers through float64."""
    sensor = next(p.values[0] for p in STEP_SENSORS if p.id == "orders-paid-only")
    dependency, message = _message(sensor, batch=False)
    template = [{"src": {"dependencyName": dependency, "dataTemplate": invocation.EVENT_ACTION}, "dest": ""}]

    body = json.loads(_payload(oracle, dependency, message, template), parse_float=Decimal)["body"]

    assert body["big"] != INT64_MAX and body["odd"] != ABOVE_2_53
    assert Decimal(str(body["amount"])) != Decimal(DECIMAL_30)


@pytest.mark.parametrize("sensor", STEP_SENSORS)
def test_a_dead_letter_holds_the_whole_batch_and_where_to_replay_it(oracle, sensor):
    dependency, message = _message(sensor)
    [trigger] = [t for t in sensor["spec"]["triggers"] if t["template"].get("conditions", dependency) == dependency]
    parameters = trigger["dlqTrigger"]["template"]["kafka"]["payload"]
    event_data = json.loads(oracle.event(message)["data"])

    body = _payload(oracle, dependency, message, parameters)

    assert body.count(RECORD.encode()) == 1  # the batch value's own bytes, digits and all
    doc = json.loads(body)
    assert list(doc) == ["step", "reason", "payload", "topic", "partition", "key", "id", "at"]
    assert doc["step"] == sensor["metadata"]["labels"]["faas-etl.dev/operation"]
    assert doc["payload"] == event_data["body"] and doc["payload"]["records"][0]["value"]["big"] == INT64_MAX
    assert (doc["topic"], doc["partition"], doc["key"]) == (message.topic, 4, "")
    assert doc["id"] == message.event_id
    assert doc["at"].isdigit()  # epoch milliseconds as text: a template's output
