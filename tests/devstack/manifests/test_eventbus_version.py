"""The EventBus asks for a JetStream version the pinned Argo Events controller can run.

Upstream rule: the Argo Events controller starts an EventBus only with a ``jetstream.version``
listed in its config map (argo-events v1.9.11,
``manifests/base/controller-manager/controller-config.yaml``, ``jetStream.versions``); any other
version leaves the EventBus unready and no EventSource or Sensor can connect. The list below is
that file's, copied as data. ``make tools`` builds the same nats-server version for the local
EventBus (``tools/go/nats-server/go.mod``), so the two pins move together.
"""
from __future__ import annotations

import re

import yaml

# argo-events v1.9.11, manifests/base/controller-manager/controller-config.yaml (jetStream.versions).
ARGO_EVENTS = "v1.9.11"
JETSTREAM_VERSIONS_V1_9_11 = ("latest", "2.8.1", "2.8.1-alpine", "2.8.2", "2.8.2-alpine", "2.9.1",
                              "2.9.12", "2.9.16", "2.10.29")


def _required(go_mod: str, module: str) -> str:
    match = re.search(rf"^require {re.escape(module)} (v\S+)$", go_mod, re.M)
    assert match, f"go.mod does not require {module} on a line of its own"
    return match.group(1)


def test_the_eventbus_version_is_listed_by_the_pinned_controller(repo_root):
    bus = yaml.safe_load((repo_root / "argo-events" / "eventbus" / "default.yaml").read_text())
    version = bus["spec"]["jetstream"]["version"]
    assert version in JETSTREAM_VERSIONS_V1_9_11, (
        f"EventBus jetstream.version {version!r} is not one Argo Events {ARGO_EVENTS} lists")


def test_the_tools_pin_the_argo_events_version_the_rule_was_read_from(repo_root):
    go_mod = (repo_root / "tools" / "go" / "argo-events" / "go.mod").read_text()
    assert _required(go_mod, "github.com/argoproj/argo-events") == ARGO_EVENTS


def test_the_local_eventbus_runs_the_version_the_manifest_asks_for(repo_root):
    bus = yaml.safe_load((repo_root / "argo-events" / "eventbus" / "default.yaml").read_text())
    go_mod = (repo_root / "tools" / "go" / "nats-server" / "go.mod").read_text()
    assert _required(go_mod, "github.com/nats-io/nats-server/v2") == "v" + bus["spec"]["jetstream"]["version"]
