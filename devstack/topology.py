"""The local topology file: nodes with region/zone labels and a replica capacity."""
from __future__ import annotations

import pathlib
from dataclasses import dataclass, field

import yaml

REGION = "topology.kubernetes.io/region"
ZONE = "topology.kubernetes.io/zone"
HOSTNAME = "kubernetes.io/hostname"


class TopologyError(ValueError):
    """The topology file breaks a rule; the message names the field."""


@dataclass(frozen=True)
class Node:
    name: str
    labels: dict[str, str] = field(default_factory=dict)
    capacity: int = 16

    def label(self, key: str) -> str | None:
        # kubernetes.io/hostname is the node name unless the file says otherwise, as on a cluster.
        if key == HOSTNAME:
            return self.labels.get(HOSTNAME, self.name)
        return self.labels.get(key)


@dataclass(frozen=True)
class Topology:
    nodes: tuple[Node, ...]

    def node(self, name: str) -> Node:
        for node in self.nodes:
            if node.name == name:
                return node
        raise KeyError(name)


def parse_topology(doc: object) -> Topology:
    if not isinstance(doc, dict) or not isinstance(doc.get("nodes"), list) or not doc["nodes"]:
        raise TopologyError("nodes: must be a non-empty list")
    nodes, seen = [], set()
    for i, raw in enumerate(doc["nodes"]):
        where = f"nodes[{i}]"
        if not isinstance(raw, dict) or not isinstance(raw.get("name"), str) or not raw["name"]:
            raise TopologyError(f"{where}.name: must be a non-empty string")
        if raw["name"] in seen:
            raise TopologyError(f"{where}.name: duplicate node name {raw['name']!r}")
        seen.add(raw["name"])
        labels = raw.get("labels") or {}
        if not isinstance(labels, dict) or not all(
                isinstance(k, str) and isinstance(v, str) for k, v in labels.items()):
            raise TopologyError(f"{where}.labels: must map strings to strings")
        capacity = raw.get("capacity", 16)
        if not isinstance(capacity, int) or isinstance(capacity, bool) or capacity < 1:
            raise TopologyError(f"{where}.capacity: must be a whole number >= 1")
        nodes.append(Node(name=raw["name"], labels=dict(labels), capacity=capacity))
    return Topology(nodes=tuple(nodes))


def load_topology(path: pathlib.Path) -> Topology:
    return parse_topology(yaml.safe_load(pathlib.Path(path).read_text()))
