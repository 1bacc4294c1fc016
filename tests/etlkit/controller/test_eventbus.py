"""The EventBus edge: events a Sensor holds, per filter subject, from the nats monitor's /jsz.

The document below has the shape nats-server 2.10.29 answers ``/jsz?accounts=true&streams=true&
consumers=true&config=true`` with for a real Sensor's durable consumer (seen in
tests/devstack/realargo/test_backlog.py, which reads it from the real binaries); the monitor is
read from a real nats-server here.
"""
import pytest

from devstack.ports import free_port
from etlkit.controller import ConfigError, ControllerConfig, EdgeError
from etlkit.controller.config import CLUSTER_EVENTBUS_MONITOR
from etlkit.controller.eventbus import JetStreamMonitor, NoEventBus, held_by_subject, input_held
from etlkit.controller.wiring import build_edges
from etlkit.workflow import names
from tests.fixtures.realargo import require_real_argo

from .test_config import LOCAL


def _consumer(name, subject, pending, ack_pending):
    return {"stream_name": "default", "name": name, "num_pending": pending,
            "num_ack_pending": ack_pending, "num_redelivered": 0, "num_waiting": 0,
            "config": {"durable_name": name, "deliver_policy": "new", "ack_policy": "explicit",
                       "filter_subject": subject}}


JSZ = {"account_details": [{"name": "$G", "stream_detail": [
    {"name": "default", "state": {"messages": 10}, "consumer_detail": [
        _consumer("group-513002387", "default.orders-raw.orders-raw", 7, 2),
        _consumer("group-2", "default.orders-raw.orders-raw", 1, 0),  # a second Sensor on it
        _consumer("group-3", "default.orders-paid.orders-paid", 0, 1)]},
    {"name": "KV_orders-paid-only", "consumer_detail": [_consumer("kv", "$KV.>", 5, 0)]}]}]}


def test_held_events_add_pending_and_ack_pending_per_subject_of_the_default_stream_only():
    assert held_by_subject(JSZ) == {"default.orders-raw.orders-raw": 10,
                                    "default.orders-paid.orders-paid": 1}
    assert held_by_subject({}) == {}


def test_an_input_holds_what_every_lane_of_its_eventsource_holds_as_the_renderer_names_them():
    source = names.kafka_eventsource("orders", "orders-raw")
    held = {f"default.{source}.{names.lane_event('orders-raw', i)}": n for i, n in enumerate((4, 0, 3))}
    held |= {"default.orders-orders-raw-x.orders-raw-x-0": 100,  # another topic whose name starts alike
             f"default.{names.kafka_eventsource('orders', 'orders-paid')}.orders-paid-0": 50,
             # another workflow reading the same topic: its own EventSource, its own backlog
             f"default.{names.kafka_eventsource('audit', 'orders-raw')}.orders-raw-0": 20}
    assert input_held(held, "orders", "orders-raw") == 7
    assert input_held(held, "audit", "orders-raw") == 20
    assert input_held({}, "orders", "orders-raw") == 0


def test_the_monitor_reads_a_real_nats_server_and_an_absent_one_is_an_edge_error(tmp_path):
    from devstack.realargo.eventbus import NatsEventBus

    require_real_argo()
    bus = NatsEventBus("127.0.0.1", tmp_path).start()
    try:
        assert JetStreamMonitor(bus.monitor_url).held() == {}  # no stream, no consumer yet
    finally:
        bus.stop()
    with pytest.raises(EdgeError, match=r"^eventbus: GET http://127\.0\.0\.1:\d+/jsz\?"):
        JetStreamMonitor(f"http://127.0.0.1:{free_port()}", timeout_s=2).held()


def test_no_bus_holds_nothing_and_says_so_with_none():
    assert NoEventBus().held() is None


@pytest.mark.parametrize("env, monitor", [
    (LOCAL, ""),  # the stand-in runner: no bus
    ({"KUBERNETES_SERVICE_HOST": "10.0.0.1", "KAFKA_BOOTSTRAP": "kafka:9092"},
     CLUSTER_EVENTBUS_MONITOR),
    ({"KUBERNETES_SERVICE_HOST": "10.0.0.1", "KAFKA_BOOTSTRAP": "kafka:9092",
      "EVENTBUS_MONITOR_URL": "none"}, ""),
    ({**LOCAL, "EVENTBUS_MONITOR_URL": "http://10.213.7.1:8222"}, "http://10.213.7.1:8222"),
], ids=["local-default-none", "kubernetes-default-service", "none", "given"])
def test_the_monitor_url_comes_from_the_environment(env, monitor):
    assert ControllerConfig.from_env(env).eventbus_monitor_url == monitor


def test_a_monitor_url_that_is_not_http_names_the_variable():
    with pytest.raises(ConfigError) as err:
        ControllerConfig.from_env({**LOCAL, "EVENTBUS_MONITOR_URL": "nats://10.0.0.1:4222"})
    assert err.value.field == "EVENTBUS_MONITOR_URL"


def test_wiring_picks_the_monitor_only_when_one_is_configured():
    none = build_edges(ControllerConfig.from_env({**LOCAL, "STATE_STORE": "file",
                                                  "STATE_DIR": "/tmp/x"}))
    some = build_edges(ControllerConfig.from_env({**LOCAL, "STATE_STORE": "file",
                                                  "STATE_DIR": "/tmp/x",
                                                  "EVENTBUS_MONITOR_URL": "http://127.0.0.1:9"}))
    try:
        assert isinstance(none.bus, NoEventBus)
        assert isinstance(some.bus, JetStreamMonitor) and some.bus.url == "http://127.0.0.1:9"
    finally:
        none.offsets.close()
        some.offsets.close()
