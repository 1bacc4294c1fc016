"""devstack.realargo.eventbus: the bus config the controller writes, /jsz read, a real nats-server."""
from __future__ import annotations

import yaml

import pytest

from devstack.realargo import scenario as sc
from devstack.realargo.eventbus import (CONTROLLER_STREAM_CONFIG, NatsEventBus, StreamSettings, StreamState, bus_config,
                                        consumers, held_events, merged_stream_config, stream_settings,
                                        stream_state)
from devstack.realargo.harness import load_eventbus
from devstack.realargo.localise import local_addresses
from tests.fixtures.realargo import real_argo, require_real_argo  # noqa: F401 - fixture

GIB = 1024 ** 3
SECOND_NS = 10 ** 9


def test_the_committed_eventbus_keeps_every_event_until_acknowledged_with_one_replica_here(repo_root):
    """Interest retention, discard new, sized in bytes, no age limit: the controller's defaults
    (50,000 messages, 168h, discard old) all overridden, only the replicas changed locally."""
    config = bus_config(load_eventbus(repo_root), "nats://10.213.7.1:4222")
    assert set(config) == {"jetstream"} and config["jetstream"]["url"] == "nats://10.213.7.1:4222"
    assert "accessSecret" not in config["jetstream"]
    settings = yaml.safe_load(config["jetstream"]["streamConfig"])
    assert settings == {"maxmsgs": -1, "maxage": "0s", "maxbytes": 8 * GIB, "replicas": 1,
                        "duplicates": "300s", "retention": 1, "discard": 1}
    # viper's GetInt64 reads a non-integer as 0 (no limit): the size must be a YAML integer.
    assert type(settings["maxbytes"]) is int


def test_the_committed_stream_fits_its_volume(repo_root):
    eventbus = load_eventbus(repo_root)
    volume = eventbus["spec"]["jetstream"]["persistence"]["volumeSize"]
    assert volume.endswith("Gi")
    settings = yaml.safe_load(eventbus["spec"]["jetstream"]["streamConfig"])
    assert 0 < settings["maxBytes"] < int(volume[:-2]) * GIB
    assert settings["replicas"] == eventbus["spec"]["jetstream"]["replicas"]  # one copy per server


def test_as_the_controller_merges_keys_are_lowercased_sorted_and_the_spec_wins():
    eventbus = {"metadata": {"name": "b"},
                "spec": {"jetstream": {"streamConfig": "maxMsgs: 10\nmaxAge: 1h\n"}}}
    text = merged_stream_config(eventbus, local={})
    assert text.splitlines() == ["discard: 0", "duplicates: 300s", "maxage: 1h", "maxbytes: -1",
                                 "maxmsgs: 10", "replicas: 3", "retention: 0"]
    assert yaml.safe_load(CONTROLLER_STREAM_CONFIG)["replicas"] == 3  # the controller's own default


JSZ = {"account_details": [{"stream_detail": [
    {"name": "KV_orders-sink", "consumer_detail": [{"name": "kv", "num_pending": 9}]},
    {"name": "default", "state": {"messages": 42, "bytes": 4200, "first_seq": 9, "last_seq": 50},
     "consumer_detail": [
        {"name": "group-1", "num_pending": 3, "num_ack_pending": 1, "num_redelivered": 0,
         "ack_floor": {"consumer_seq": 10}},
        {"name": "group-2", "num_pending": 0, "num_ack_pending": 0, "ack_floor": {"consumer_seq": 5}}]}]}]}


def test_held_events_count_pending_and_ack_pending_of_the_default_stream_only():
    assert held_events(JSZ) == 4
    assert held_events(JSZ, {"group-2"}) == 0
    assert {name: c.acked for name, c in consumers(JSZ).items()} == {"group-1": 10, "group-2": 5}
    assert stream_state(JSZ) == StreamState(42, 4200, 9, 50)
    assert stream_state({}) == StreamState(0, 0, 0, 0)
    assert held_events({}) == 0


def test_a_real_server_listens_on_the_given_address_only_and_answers_jsz(tmp_path):
    require_real_argo()
    bus = NatsEventBus("127.0.0.1", tmp_path).start()
    try:
        jsz = bus.jsz()
        assert jsz["config"]["store_dir"].startswith(str(tmp_path))
        assert held_events(jsz) == 0 and consumers(jsz) == {}
        text = (tmp_path / "nats-server.conf").read_text()
        assert f'listen: "127.0.0.1:{bus.port}"' in text and f'http: "127.0.0.1:{bus.monitor_port}"' in text
        assert "tls {" in text  # the Argo clients insist on TLS
    finally:
        bus.stop()
    assert not bus.alive()


@pytest.mark.parametrize("stream_config, expected", [
    pytest.param(None, StreamSettings("interest", "new", -1, 8 * GIB, 0, 1, 300 * SECOND_NS),
                 id="committed"),
    # The reason the committed size is written in bytes: a unit reads as 0, i.e. no limit at all.
    pytest.param("maxBytes: 8Gi\n", StreamSettings("interest", "new", -1, -1, 0, 1, 300 * SECOND_NS),
                 id="size-with-a-unit-is-no-limit"),
])
def test_the_real_sensor_creates_the_stream_from_the_committed_eventbus(real_argo, stream_config, expected):
    """No one creates the stream beforehand: the first real process to connect does, from the
    bus config's streamConfig (argo-events pkg/eventbus/jetstream/base/jetstream.go CreateStream)."""
    eventbus = real_argo.eventbus if stream_config is None else \
        sc.eventbus_with_stream_config(real_argo.eventbus, stream_config)
    assert stream_settings(real_argo.bus.jsz()) is None
    pods = sc.ArgoPods(real_argo.network, real_argo.bus, eventbus,
                       local_addresses("127.0.0.1:1", "127.0.0.1:1"), real_argo.run_dir)
    try:
        sensor = sc.http_sensor("creates-stream", "creates-stream-src", "function/nowhere", "unused")
        pods.start_sensor(sc.without_dead_letters(sensor))
        assert stream_settings(real_argo.bus.jsz()) == expected
    finally:
        pods.stop_all()
