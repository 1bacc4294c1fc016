"""gather: a step's backlog is its group's lag plus what the EventBus holds for it, in records.

Over the test doubles of tests/etlkit/controller/fakes.py (the real path is measured in
tests/devstack/realargo/test_backlog.py): Kafka offsets moved by hand, a bus holding events per
subject, records per message as a topic's newest messages carry them.
"""
import pytest

from etlkit.controller import parse_scaling
from etlkit.controller.gather import Samples, gather, units_of
from etlkit.controller.eventbus import NO_EVENTBUS_REASON

from .fakes import Bus, Platform, Topics

RAW, GROUP = "orders-raw", "faas-etl.orders.orders-raw"
SUBJECT = "default.orders-orders-raw.orders-raw-0"  # the workflow's EventSource of the topic and a lane, as rendered
SPEC = parse_scaling({"workflow": "orders", "version": 1, "scaling": {
    "interval_ms": 15000, "operations": [{
        "name": "paid-only", "function": "filter",
        "inputs": [{"topic": RAW, "consumer_group": GROUP}],
        "min_replicas": 1, "max_replicas": 5, "dtt_ms": 60000, "dtc": 30000}]}})


def measure(topics, bus, previous=Samples(), now=0.0, platform=None):
    platform = platform or Platform({"filter": ["node-a"]})
    gathered = gather(SPEC, units_of(SPEC), previous, offsets=topics, cluster=platform,
                      metrics=platform, bus=bus, now=now)
    (unit,) = gathered.units
    return unit, gathered


@pytest.mark.parametrize("held, per_message, lag, backlog", [
    (None, 0, 40, 40),  # no bus, plain records: the group's lag is all of it
    ({SUBJECT: 0}, 0, 40, 40),  # a bus holding nothing adds nothing
    ({SUBJECT: 7}, 500, 0, 3500),  # the group caught up, 7 batches of 500 wait in the bus
    ({SUBJECT: 7, "default.other.other": 90}, 500, 0, 3500),  # other subjects are not ours
    ({SUBJECT: 3}, 100, 2, 500),  # both: (lag + held) x records per message
], ids=["no-bus", "empty-bus", "held-in-bus", "other-subjects", "lag-and-bus"])
def test_backlog_is_lag_plus_held_in_records(held, per_message, lag, backlog):
    topics = Topics(partitions=1)
    topics.produce(RAW, 50)
    topics.consume(GROUP, RAW, 50 - lag)
    if per_message:
        topics.per_message[RAW] = per_message
    unit, _ = measure(topics, Bus(held))
    assert (unit.kafka_lag, unit.backlog) == (lag, backlog)
    assert unit.bus_held == (None if held is None else held[SUBJECT])
    assert unit.bus_note == (NO_EVENTBUS_REASON if held is None else "")
    assert unit.to_dict()["backlog"] == backlog


def test_rates_count_records_and_finished_calls_not_events_the_bus_took():
    topics, bus, platform = Topics(partitions=1), Bus({SUBJECT: 5}), Platform({"filter": ["node-a"]})
    topics.per_message[RAW] = 500
    topics.produce(RAW, 10)
    topics.consume(GROUP, RAW, 10)
    _, first = measure(topics, bus, platform=platform)
    # In 10 s: 100 messages in, all taken by the EventSource (committed), 60 of them still in
    # the bus: the step finished 40 messages of 500 records in 20 s of calls.
    topics.produce(RAW, 100)
    topics.consume(GROUP, RAW, 100)
    bus.held_ = {SUBJECT: 65}
    platform.busy["filter"] += 20.0
    unit, _ = measure(topics, bus, first.samples, now=10.0, platform=platform)
    assert unit.production_rate.value == 100 * 500 / 10
    assert unit.consumed_rate.value == 40 * 500 / 10
    assert unit.velocity.value == 40 * 500 / 10  # busy time capped at the 10 replica-seconds
    assert (unit.kafka_lag, unit.bus_held, unit.backlog) == (0, 65, 65 * 500)


def test_a_bus_that_came_between_ticks_leaves_the_consumed_rate_unmeasured():
    topics = Topics(partitions=1)
    topics.produce(RAW, 10)
    _, first = measure(topics, Bus(None))
    unit, _ = measure(topics, Bus({SUBJECT: 1}), first.samples, now=10.0)
    assert unit.consumed_rate.value is None
    assert unit.consumed_rate.reason == "the EventBus came or went between samples"


def test_samples_keep_what_the_bus_held_across_the_state_store():
    topics = Topics(partitions=1)
    topics.produce(RAW, 10)
    for held in ({SUBJECT: 4}, None):
        _, gathered = measure(topics, Bus(held))
        again = Samples.from_dict(gathered.samples.to_dict())
        assert again == gathered.samples
        assert again.held == {f"{GROUP}|{RAW}": None if held is None else 4}


def test_a_bus_that_does_not_answer_is_an_edge_error_naming_it():
    bus = Bus({})
    bus.down = True
    with pytest.raises(Exception, match="^eventbus: GET"):
        measure(Topics(), bus)
