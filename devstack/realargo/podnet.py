"""Pods on one machine: a network namespace per process, all on one private bridge.

Every Argo Events Sensor and EventSource serves its metrics on ``:7777`` (every interface; the
constant ``v1alpha1.SensorMetricsPort`` in ``pkg/apis/events/v1alpha1/const.go``) and exits if
the port is taken (``pkg/metrics/metrics.go``: ``log.Fatal`` on ``ListenAndServe``). Kubernetes
gives each such process a pod, i.e. a network namespace of its own; so do we::

    host                                     pod netns "fe-<pid>-<n>-<pod>"
    bridge fb<pid>-<n>  10.213.X.1/24  <-veth->  eth0 10.213.X.<2..254>/24, lo

The bridge address is private to the machine (no route leads to it from outside, nothing is
forwarded: ``ip_forward`` stays as it is and a pod has no default route), so the servers the
host side starts for the pods (Kafka, nats-server, the gateway) listen there and never on a real
interface; the host's own code reaches them at the same address. A pod reaches only the bridge
subnet.

Names carry the creating process's id (base 36) and an instance number, so two harnesses (two
pytest-xdist workers) never collide, and :func:`clean_stale` removes what a dead process left
behind, never what a live one uses. Interface names stay within Linux's 15 characters.

Needs root (``ip netns add``); :func:`available` says whether this machine can do it.
"""
from __future__ import annotations

import contextlib
import fcntl
import ipaddress
import itertools
import os
import re
import signal
import subprocess
import threading
from dataclasses import dataclass

SUPERNET = ipaddress.ip_network("10.213.0.0/16")
LOCK_FILE = "/run/faas-etl-podnet.lock"
_IFNAME_MAX = 15
_NAME = re.compile(r"^(?:fb|fh)([0-9a-z]+)-([0-9a-z]+)(?:-\d+c?)?$")
_NETNS = re.compile(r"^fe-([0-9a-z]+)-([0-9a-z]+)-")
_instances = itertools.count()
_instances_lock = threading.Lock()


class PodNetError(RuntimeError):
    """A pod network step failed; the message has the command and its output."""


def base36(number: int) -> str:
    digits = "0123456789abcdefghijklmnopqrstuvwxyz"
    out = ""
    while True:
        number, rest = divmod(number, 36)
        out = digits[rest] + out
        if number == 0:
            return out


@dataclass(frozen=True)
class Names:
    """The names of one pod network: ``tag`` is ``<pid base 36>-<instance base 36>``."""

    tag: str

    @classmethod
    def of(cls, pid: int, instance: int) -> "Names":
        return cls(f"{base36(pid)}-{base36(instance)}")

    @property
    def bridge(self) -> str:
        return self._ifname(f"fb{self.tag}")

    def host_veth(self, index: int) -> str:
        return self._ifname(f"fh{self.tag}-{index}")

    def netns(self, index: int, pod: str) -> str:
        pid, instance = self.tag.split("-")
        # netns names are files under /run/netns: no 15-character limit, the pod name is kept.
        return f"fe-{pid}-{instance}-{index}-{pod}"[:200]

    @staticmethod
    def _ifname(name: str) -> str:
        if len(name) > _IFNAME_MAX:
            raise PodNetError(f"interface name {name!r} is longer than {_IFNAME_MAX} characters")
        return name


def owner_pid(name: str) -> int | None:
    """The id of the process that created an interface or netns of ours, from its name."""
    match = _NAME.match(name) or _NETNS.match(name)
    return int(match.group(1), 36) if match else None


def pick_subnet(used: list[ipaddress.IPv4Network], seed: int) -> ipaddress.IPv4Network:
    """A /24 of :data:`SUPERNET` that overlaps none of ``used``, starting at ``seed``'s slot."""
    subnets = list(SUPERNET.subnets(new_prefix=24))
    for step in range(len(subnets)):
        candidate = subnets[(seed + step) % len(subnets)]
        if not any(candidate.overlaps(net) for net in used):
            return candidate
    raise PodNetError(f"every /24 of {SUPERNET} is in use")


def _run(*args: str, check: bool = True) -> str:
    done = subprocess.run(args, capture_output=True, text=True, timeout=30)
    if check and done.returncode != 0:
        raise PodNetError(f"{' '.join(args)}: exit {done.returncode}: {done.stderr.strip()}")
    return done.stdout


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def used_networks() -> list[ipaddress.IPv4Network]:
    """Every IPv4 network an interface of this machine is in, and every routed one."""
    nets = []
    for line in _run("ip", "-4", "-o", "addr", "show").splitlines():
        fields = line.split()
        if "inet" in fields:
            nets.append(ipaddress.ip_interface(fields[fields.index("inet") + 1]).network)
    for line in _run("ip", "-4", "route", "show").splitlines():
        first = line.split()[0] if line.split() else ""
        with contextlib.suppress(ValueError):
            if first != "default":
                nets.append(ipaddress.ip_network(first, strict=False))
    return nets


def clean_stale() -> list[str]:
    """Remove the bridges, veths and netns of ours whose creating process is gone (and the
    processes still running in such a netns); their names."""
    removed = []
    for ns in _run("ip", "netns", "list", check=False).splitlines():
        name = ns.split()[0] if ns.split() else ""
        pid = owner_pid(name)
        if name.startswith("fe-") and pid is not None and not _pid_alive(pid):
            # A process a dead harness left running in its pod (they run in sessions of their
            # own, so a killed test run does not take them along): only those, by their ids.
            for leftover in _run("ip", "netns", "pids", name, check=False).split():
                with contextlib.suppress(ProcessLookupError, ValueError):
                    os.kill(int(leftover), signal.SIGKILL)
            _run("ip", "netns", "del", name, check=False)
            removed.append(name)
    for line in _run("ip", "-o", "link", "show").splitlines():
        name = line.split(":")[1].strip().split("@")[0] if ":" in line else ""
        pid = owner_pid(name)
        if pid is not None and not _pid_alive(pid):
            _run("ip", "link", "del", name, check=False)
            removed.append(name)
    return removed


def available() -> str | None:
    """None when pod networks can be made here; otherwise why not."""
    if os.geteuid() != 0:
        return "pod networks need root (ip netns add)"
    try:
        _run("ip", "netns", "list")
    except (OSError, PodNetError) as exc:
        return f"`ip netns` does not work here: {exc}"
    return None


@dataclass(frozen=True)
class Pod:
    name: str
    netns: str
    address: str
    host_veth: str

    def command(self, argv: list[str]) -> list[str]:
        """``argv`` run inside this pod's network namespace."""
        return ["ip", "netns", "exec", self.netns, *argv]


class PodNetwork:
    """One bridge and the pods on it. ``start()``, ``add_pod(name)``, ``stop()`` (or ``with``).

    ``host`` is the bridge's address: listen there for what the pods must reach.
    """

    def __init__(self) -> None:
        with _instances_lock:
            instance = next(_instances)
        self.names = Names.of(os.getpid(), instance)
        self.subnet: ipaddress.IPv4Network | None = None
        self.pods: dict[str, Pod] = {}
        self._next_host = 2

    @property
    def host(self) -> str:
        if self.subnet is None:
            raise PodNetError("pod network not started")
        return str(self.subnet.network_address + 1)

    def start(self) -> "PodNetwork":
        why = available()
        if why:
            raise PodNetError(why)
        clean_stale()
        bridge = self.names.bridge
        # One lock over pick-and-claim: a second harness starting at the same moment sees this
        # bridge's address before it picks.
        with open(LOCK_FILE, "a") as lock:
            fcntl.flock(lock, fcntl.LOCK_EX)
            self.subnet = pick_subnet(used_networks(), seed=os.getpid() % 256)
            try:
                _run("ip", "link", "add", bridge, "type", "bridge")
                _run("ip", "addr", "add", f"{self.host}/{self.subnet.prefixlen}", "dev", bridge)
                _run("ip", "link", "set", bridge, "up")
            except PodNetError:
                _run("ip", "link", "del", bridge, check=False)
                self.subnet = None
                raise
        return self

    def add_pod(self, name: str) -> Pod:
        """A new network namespace with loopback up and one address on the bridge."""
        if self.subnet is None:
            raise PodNetError("add_pod: start() first")
        if name in self.pods:
            raise PodNetError(f"pod {name!r} exists already")
        index = self._next_host
        if index >= self.subnet.num_addresses - 1:
            raise PodNetError(f"no address left in {self.subnet}")
        self._next_host += 1
        netns, host_veth = self.names.netns(index, name), self.names.host_veth(index)
        pod_veth = f"{host_veth}c"  # renamed eth0 once inside the pod
        address = str(self.subnet.network_address + index)
        try:
            _run("ip", "netns", "add", netns)
            _run("ip", "link", "add", host_veth, "type", "veth", "peer", "name", pod_veth)
            _run("ip", "link", "set", host_veth, "master", self.names.bridge)
            _run("ip", "link", "set", host_veth, "up")
            _run("ip", "link", "set", pod_veth, "netns", netns)
            _run("ip", "-n", netns, "link", "set", pod_veth, "name", "eth0")
            _run("ip", "-n", netns, "addr", "add", f"{address}/{self.subnet.prefixlen}", "dev", "eth0")
            _run("ip", "-n", netns, "link", "set", "eth0", "up")
            _run("ip", "-n", netns, "link", "set", "lo", "up")
        except PodNetError:
            _run("ip", "netns", "del", netns, check=False)
            _run("ip", "link", "del", host_veth, check=False)
            raise
        pod = Pod(name, netns, address, host_veth)
        self.pods[name] = pod
        return pod

    def remove_pod(self, name: str) -> None:
        """Delete the pod's namespace (its veth pair goes with it). Stop its processes first."""
        pod = self.pods.pop(name, None)
        if pod is not None:
            _run("ip", "netns", "del", pod.netns, check=False)
            _run("ip", "link", "del", pod.host_veth, check=False)

    def stop(self) -> None:
        for name in list(self.pods):
            self.remove_pod(name)
        if self.subnet is not None:
            _run("ip", "link", "del", self.names.bridge, check=False)
            self.subnet = None

    def __enter__(self) -> "PodNetwork":
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()
