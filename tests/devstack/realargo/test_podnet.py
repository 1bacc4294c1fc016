"""devstack.realargo.podnet: names and subnets (pure), and real pods answering across the bridge."""
from __future__ import annotations

import ipaddress
import json
import subprocess
import sys
import time
import urllib.request

import pytest

from devstack.realargo import podnet
from devstack.realargo.podnet import Names, PodNetwork, base36, owner_pid, pick_subnet
from tests.fixtures.realargo import require_real_argo


@pytest.mark.parametrize("pid", [1, 35, 36, 4194304], ids=["one", "last-digit", "two-digits", "pid-max"])
def test_names_fit_linux_and_say_whose_they_are(pid):
    names = Names.of(pid, 35)
    for name in (names.bridge, names.host_veth(254), names.host_veth(254) + "c"):
        assert len(name) <= 15, name
        assert owner_pid(name) == pid
    assert owner_pid(names.netns(254, "orders-paid-only-sensor-1")) == pid


def test_base36_holds_letters_so_separators_are_not_digits():
    assert base36(23 * 36 + 23) == "nn"  # why names use "-", never a letter, between their parts
    assert owner_pid(Names.of(23 * 36 + 23, 0).bridge) == 23 * 36 + 23


def test_names_of_others_are_not_ours():
    for name in ("eth0", "lo", "docker0", "fb", "fe-", "fhx"):
        assert owner_pid(name) is None


def test_pick_subnet_skips_every_network_in_use():
    used = [ipaddress.ip_network("10.213.5.0/24"), ipaddress.ip_network("10.213.6.0/23")]
    assert str(pick_subnet(used, seed=5)) == "10.213.8.0/24"
    assert str(pick_subnet([], seed=300)) == "10.213.44.0/24"  # the seed wraps round the /16
    with pytest.raises(podnet.PodNetError):
        pick_subnet([ipaddress.ip_network("10.0.0.0/8")], seed=0)


SERVER = ("import http.server, json, os, socket\n"
          "class H(http.server.BaseHTTPRequestHandler):\n"
          "    def do_GET(self):\n"
          "        body = json.dumps({'pod': os.environ['POD'], 'peer': self.client_address[0]}).encode()\n"
          "        self.send_response(200); self.end_headers(); self.wfile.write(body)\n"
          "    def log_message(self, *a): pass\n"
          "http.server.HTTPServer(('0.0.0.0', 7777), H).serve_forever()\n")


def _get(url: str, timeout: float = 10.0) -> dict:
    deadline = time.monotonic() + timeout
    while True:
        try:
            with urllib.request.urlopen(url, timeout=2) as resp:
                return json.loads(resp.read())
        except OSError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.1)


def test_two_pods_serve_the_same_port_and_the_host_and_each_other_reach_them():
    require_real_argo()
    procs = []
    with PodNetwork() as net:
        a, b = net.add_pod("a"), net.add_pod("b")
        for pod in (a, b):
            procs.append(subprocess.Popen(pod.command([sys.executable, "-c", SERVER]),
                                          env={"POD": pod.name}, stdout=subprocess.DEVNULL))
        try:
            # Both bound 0.0.0.0:7777, as two Argo processes do: each in its own namespace.
            assert _get(f"http://{a.address}:7777/") == {"pod": "a", "peer": net.host}
            assert _get(f"http://{b.address}:7777/") == {"pod": "b", "peer": net.host}
            across = subprocess.run(b.command([sys.executable, "-c",
                                               f"import urllib.request; print(urllib.request.urlopen("
                                               f"'http://{a.address}:7777/', timeout=5).read().decode())"]),
                                    capture_output=True, text=True, timeout=30)
            assert json.loads(across.stdout) == {"pod": "a", "peer": b.address}
            # Nothing of theirs listens on the host's own interfaces.
            listening = subprocess.run(["ss", "-ltnH"], capture_output=True, text=True).stdout
            assert ":7777 " not in listening
        finally:
            for proc in procs:
                proc.terminate()
                proc.wait(10)
        bridge, netns = net.names.bridge, [p.netns for p in net.pods.values()]
    links = subprocess.run(["ip", "-o", "link", "show"], capture_output=True, text=True).stdout
    namespaces = subprocess.run(["ip", "netns", "list"], capture_output=True, text=True).stdout
    assert bridge not in links and not any(ns in namespaces for ns in netns)


def test_what_a_dead_process_left_is_cleaned_and_a_live_ones_is_not():
    require_real_argo()
    dead = subprocess.Popen(["true"])
    dead.wait()
    stale = Names.of(dead.pid, 0).bridge
    subprocess.run(["ip", "link", "add", stale, "type", "bridge"], check=True)
    with PodNetwork() as live:  # start() cleans; its own bridge survives it
        assert stale not in subprocess.run(["ip", "-o", "link", "show"], capture_output=True, text=True).stdout
        assert podnet.clean_stale() == []
        assert live.names.bridge in subprocess.run(["ip", "-o", "link", "show"], capture_output=True,
                                                   text=True).stdout
