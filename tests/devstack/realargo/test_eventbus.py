"""devstack.realargo.eventbus: the bus config the controller writes, /jsz read, a real nats-server."""
from __future__ import annotations

import yaml

from devstack.realargo.eventbus import (CONTROLLER_STREAM_CONFIG, NatsEventBus, bus_config, consumers,
                                        held_events, merged_stream_config, stream_messages)
from devstack.realargo.harness import load_eventbus
from tests.fixtures.realargo import require_real_argo


def test_the_committed_eventbus_gets_the_controller_defaults_with_one_replica(repo_root):
    config = bus_config(load_eventbus(repo_root), "nats://10.213.7.1:4222")
    assert set(config) == {"jetstream"} and config["jetstream"]["url"] == "nats://10.213.7.1:4222"
    assert "accessSecret" not in config["jetstream"]
    settings = yaml.safe_load(config["jetstream"]["streamConfig"])
    assert settings == {"maxmsgs": 50000, "maxage": "168h", "maxbytes": -1, "replicas": 1,
                        "duplicates": "300s", "retention": 0, "discard": 0}


def test_as_the_controller_merges_keys_are_lowercased_sorted_and_the_spec_wins():
    eventbus = {"metadata": {"name": "b"},
                "spec": {"jetstream": {"streamConfig": "maxMsgs: 10\nmaxAge: 1h\n"}}}
    text = merged_stream_config(eventbus, local={})
    assert text.splitlines() == ["discard: 0", "duplicates: 300s", "maxage: 1h", "maxbytes: -1",
                                 "maxmsgs: 10", "replicas: 3", "retention: 0"]
    assert yaml.safe_load(CONTROLLER_STREAM_CONFIG)["replicas"] == 3  # the controller's own default


JSZ = {"account_details": [{"stream_detail": [
    {"name": "KV_orders-sink", "consumer_detail": [{"name": "kv", "num_pending": 9}]},
    {"name": "default", "state": {"messages": 42}, "consumer_detail": [
        {"name": "group-1", "num_pending": 3, "num_ack_pending": 1, "num_redelivered": 0,
         "ack_floor": {"consumer_seq": 10}},
        {"name": "group-2", "num_pending": 0, "num_ack_pending": 0, "ack_floor": {"consumer_seq": 5}}]}]}]}


def test_held_events_count_pending_and_ack_pending_of_the_default_stream_only():
    assert held_events(JSZ) == 4
    assert held_events(JSZ, {"group-2"}) == 0
    assert {name: c.acked for name, c in consumers(JSZ).items()} == {"group-1": 10, "group-2": 5}
    assert stream_messages(JSZ) == 42
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
