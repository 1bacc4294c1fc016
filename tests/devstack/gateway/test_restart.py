"""Restarting the gateway as OpenFaaS's restarts: same address, workers untouched, no call lost.

A gateway of its own here (not the session's stack), serving a handler that can take its time.
"""
import socket
import threading
import time

import pytest
import requests

from .own_gateway import start_gateway

SLOW_HANDLER = '''import json
import os
import time


def handle(event, context):
    time.sleep(float(event.query.get("sleep", "0")))
    return {"statusCode": 200, "headers": {"Content-Type": "application/json"},
            "body": json.dumps({"pid": os.getpid(), "bytes": len(event.body)})}
'''


@pytest.fixture
def gateway(tmp_path):
    gw, session = start_gateway(tmp_path, "slow", SLOW_HANDLER, labels={"com.openfaas.scale.min": "2"})
    state = {"gw": gw}
    yield state, session
    session.close()
    state["gw"].stop()


def _pids(gw):
    return sorted(w.pid for w in gw.replicas.ready_workers("slow"))


def _call(session, url, **query):
    resp = session.post(f"{url}/function/slow", params=query, data=b"abc", timeout=30)
    assert resp.status_code == 200, resp.text
    return resp.json()


def test_a_restarted_gateway_serves_the_same_workers_on_the_same_address(gateway):
    state, session = gateway
    old = state["gw"]
    url, pids = old.url, _pids(old)
    assert len(pids) == 2
    old.stop(keep_replicas=True)
    with pytest.raises(requests.ConnectionError):
        requests.get(f"{url}/healthz", timeout=2)  # really down in between
    state["gw"] = new = old.successor().start()
    assert new.url == url
    assert _pids(new) == pids
    served = set()
    with requests.Session() as fresh:
        fresh.auth = session.auth
        for _ in range(6):
            served.add(_call(fresh, url)["pid"])
    assert served <= set(pids) and served  # no new worker was started to serve them


def test_a_call_in_flight_when_the_gateway_stops_still_gets_its_answer(gateway):
    state, session = gateway
    old = state["gw"]
    answers = []
    caller = threading.Thread(target=lambda: answers.append(_call(session, old.url, sleep="1.0")))
    caller.start()
    deadline = time.monotonic() + 10
    while not any(w.inflight for w in old.replicas.ready_workers("slow")):
        assert time.monotonic() < deadline, "the call never reached a worker"
        time.sleep(0.01)
    old.stop(keep_replicas=True)
    state["gw"] = old.successor().start()
    caller.join(30)
    assert answers and answers[0]["bytes"] == 3


def test_an_idle_keep_alive_connection_ends_with_the_old_gateway(gateway):
    state, session = gateway
    old = state["gw"]
    _call(session, old.url)  # leaves a pooled keep-alive connection to the old gateway
    old.stop(keep_replicas=True)
    state["gw"] = new = old.successor().start()
    try:
        _call(session, new.url)
    except requests.ConnectionError:  # the pooled connection was closed under the client
        _call(session, new.url)
    # Served by the new gateway, not by a handler of the old one still reading that connection.
    assert new.metrics.invocations("slow.openfaas-fn") == 1


def test_a_plain_stop_stops_the_workers(gateway):
    state, _session = gateway
    gw = state["gw"]
    workers = gw.replicas.ready_workers("slow")
    gw.stop()
    assert workers and not any(w.alive() for w in workers)


def test_a_body_cut_short_is_never_forwarded(gateway):
    state, _session = gateway
    gw = state["gw"]
    host, port = gw.url.removeprefix("http://").split(":")
    with socket.create_connection((host, int(port)), timeout=10) as sock:
        sock.sendall(b"POST /function/slow HTTP/1.1\r\nHost: x\r\n"
                     + f"Authorization: {gw.credentials.header()}\r\n".encode()
                     + b"Content-Length: 100\r\n\r\n" + b"x" * 10)
        sock.shutdown(socket.SHUT_WR)  # the client is gone after 10 of 100 bytes
        assert sock.recv(1024) == b""  # no answer at all: nothing was forwarded
    assert gw.metrics.invocations("slow.openfaas-fn") == 0
