"""The pausable proxy: bytes stop while paused and nothing is lost; Kafka clients go through it."""
import socket
import socketserver
import threading

import pytest
from confluent_kafka import Consumer, Producer, TopicPartition

from devstack.broker import EmbeddedBroker, create_topics
from devstack.chaos.proxy import PausableProxy
from devstack.ports import free_port


class _Echo(socketserver.BaseRequestHandler):
    def handle(self):
        while data := self.request.recv(4096):
            self.request.sendall(data)


@pytest.fixture
def echo_proxy():
    server = socketserver.ThreadingTCPServer(("127.0.0.1", 0), _Echo)
    server.daemon_threads = True
    threading.Thread(target=server.serve_forever, daemon=True).start()
    with PausableProxy(server.server_address) as proxy:
        yield proxy
    server.shutdown()
    server.server_close()


def test_bytes_flow_stop_while_paused_and_arrive_after(echo_proxy):
    with socket.create_connection(("127.0.0.1", echo_proxy.port), timeout=5) as sock:
        sock.sendall(b"before")
        assert sock.recv(100) == b"before"
        echo_proxy.pause()
        assert echo_proxy.paused
        sock.sendall(b"during")
        sock.settimeout(0.3)
        with pytest.raises(socket.timeout):
            sock.recv(100)
        echo_proxy.resume()
        sock.settimeout(5)
        got = b""
        while len(got) < len(b"during"):
            got += sock.recv(100)
        assert got == b"during"  # held, not dropped


def test_a_connection_opened_while_paused_waits_then_works(echo_proxy):
    echo_proxy.pause()
    with socket.create_connection(("127.0.0.1", echo_proxy.port), timeout=5) as sock:
        sock.sendall(b"hello")
        sock.settimeout(0.3)
        with pytest.raises(socket.timeout):
            sock.recv(100)
        echo_proxy.resume()
        sock.settimeout(5)
        assert sock.recv(100) == b"hello"


def test_stop_closes_the_connections(echo_proxy):
    sock = socket.create_connection(("127.0.0.1", echo_proxy.port), timeout=5)
    sock.sendall(b"x")
    assert sock.recv(10) == b"x"
    echo_proxy.stop()
    assert sock.recv(10) == b""
    sock.close()


def test_kafka_through_the_proxy_waits_out_a_pause_and_loses_nothing():
    proxy_port = free_port()
    with EmbeddedBroker(advertised_port=proxy_port) as broker, \
            PausableProxy(("127.0.0.1", broker.port), port=proxy_port) as proxy:
        create_topics(proxy.address, {"paused": 1})
        producer = Producer({"bootstrap.servers": proxy.address, "enable.idempotence": True,
                             "linger.ms": 0})
        producer.produce("paused", b"first")
        assert producer.flush(30) == 0
        proxy.pause()
        producer.produce("paused", b"second")
        assert producer.flush(0.5) == 1  # cannot be acknowledged while no byte moves
        proxy.resume()
        assert producer.flush(30) == 0
        consumer = Consumer({"bootstrap.servers": proxy.address, "group.id": "proxy-test",
                             "auto.offset.reset": "earliest", "enable.auto.commit": False})
        consumer.assign([TopicPartition("paused", 0, 0)])
        values = []
        while len(values) < 2:
            msg = consumer.poll(10)
            assert msg is not None, f"only {values} arrived"
            values.append(msg.value())
        consumer.close()
        assert values == [b"first", b"second"]
        # Every client connection went through the proxy: the broker advertises its port.
        assert proxy.connections >= 2
