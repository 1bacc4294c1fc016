"""The version matrix: which releases of each platform part accept the manifests we ship.

Each row is a decision drawn from upstream facts, which are kept here as data read from the
upstream sources at the tags named (never fetched at run time: these machines have no network).
``tests/devstack/manifests/test_versions.py`` checks every manifest against every rule below and
the README's table against :data:`MATRIX`; when a platform moves, the facts and the row move
together, and a manifest that no longer fits fails there.

Argo Events (github.com/argoproj/argo-events):

* ``manifests/base/controller-manager/controller-config.yaml`` (``eventBus.jetstream.versions``)
  lists the JetStream versions its controller can start; an EventBus asking for any other stays
  unready. :data:`ARGO_JETSTREAM_VERSIONS` holds each tag's list.
* ``pkg/reconciler/sensor/validate.go`` accepts an HTTP trigger parameter with an empty ``dest``
  (the whole body) from v1.9.8 (``validateTriggerParameterForHTTP``); v1.9.7 and older refuse it
  ("parameter destination can't be empty"). Our tick Sensors post their whole body that way.

Strimzi (github.com/strimzi/strimzi-kafka-operator):

* ``packaging/install/cluster-operator/04*-Crd-*.yaml`` (``spec.versions[].served``): the API
  versions each release serves. 0.49.0 adds ``kafka.strimzi.io/v1`` beside ``v1beta2``; 1.0.0
  removes ``v1beta2``. A manifest must use a version every matrix release serves: ``v1``.
* ``kafka-versions.yaml`` (``supported: true``): the Kafka releases each operator can run.
* The ``v1`` schema of ``Kafka`` has no ``spec.zookeeper``/``spec.jmxTrans`` and no
  ``spec.kafka.replicas``/``spec.kafka.storage`` (node pools own them): ``strimzi.py``.
"""
from __future__ import annotations

from dataclasses import dataclass

# argo-events <tag>:manifests/base/controller-manager/controller-config.yaml, jetstream.versions.
_ARGO_JS_BEFORE_1_9_2 = ("latest", "2.8.1", "2.8.1-alpine", "2.8.2", "2.8.2-alpine", "2.9.1",
                         "2.9.12", "2.9.16")
ARGO_JETSTREAM_VERSIONS: dict[str, tuple[str, ...]] = {
    **{f"v1.9.{n}": _ARGO_JS_BEFORE_1_9_2 for n in (0, 1)},
    **{f"v1.9.{n}": (*_ARGO_JS_BEFORE_1_9_2, "2.10.10") for n in range(2, 10)},
    **{f"v1.9.{n}": (*_ARGO_JS_BEFORE_1_9_2, "2.10.29") for n in (10, 11)},
}
# argo-events pkg/reconciler/sensor/validate.go: validateTriggerParameterForHTTP (empty dest).
ARGO_EMPTY_HTTP_DEST_FROM = "v1.9.8"

# strimzi <tag>:packaging/install/cluster-operator/04*-Crd-{kafka,kafkanodepool,kafkatopic}.yaml,
# the versions served (the same for the three kinds we use at every tag below).
STRIMZI_SERVED_API_VERSIONS: dict[str, tuple[str, ...]] = {
    **{tag: ("kafka.strimzi.io/v1beta2",) for tag in ("0.46.0", "0.47.0", "0.48.0")},
    **{tag: ("kafka.strimzi.io/v1", "kafka.strimzi.io/v1beta2")
       for tag in ("0.49.0", "0.50.0", "0.51.0")},
    **{tag: ("kafka.strimzi.io/v1",) for tag in ("1.0.0", "1.1.0", "1.2.0")},
}
# strimzi <tag>:kafka-versions.yaml, the entries with supported: true.
STRIMZI_KAFKA_VERSIONS: dict[str, tuple[str, ...]] = {
    "0.46.0": ("3.9.0", "4.0.0"),
    "0.47.0": ("3.9.0", "4.0.0"),
    "0.48.0": ("4.0.0", "4.1.0"),
    "0.49.0": ("4.0.0", "4.0.1", "4.1.0", "4.1.1"),
    "0.50.0": ("4.0.0", "4.0.1", "4.1.0", "4.1.1"),
    "0.51.0": ("4.1.0", "4.1.1", "4.2.0"),
    "1.0.0": ("4.1.0", "4.1.1", "4.1.2", "4.2.0"),
    "1.1.0": ("4.2.0", "4.2.1", "4.3.0"),
    "1.2.0": ("4.2.0", "4.2.1", "4.3.0", "4.3.1"),
}
STRIMZI_API_VERSION = "kafka.strimzi.io/v1"
# The default KRaft metadata version of a Kafka release: what `kafka-storage.sh version-mapping`
# of that release prints first (Kafka 4.1.1: "metadata.version=27 (4.1-IV1)"); the real-binary
# test asks the broker of .tools/ again.
KAFKA_METADATA_VERSIONS = {"4.1.1": "4.1-IV1"}


@dataclass(frozen=True)
class Row:
    """One component of the matrix: the releases that accept our manifests, the one our tests
    run (``tested``; ``-`` where nothing of it runs here) and why the range is what it is."""

    component: str
    releases: tuple[str, ...]
    tested: str
    why: str


ARGO_EVENTS = Row(
    "Argo Events", ("v1.9.10", "v1.9.11"), "v1.9.11",
    "the EventBus asks for JetStream 2.10.29, listed from v1.9.10 (v1.9.2-v1.9.9 list 2.10.10); "
    "tick Sensors post their whole body (empty `dest`), accepted from v1.9.8")
NATS = Row("NATS JetStream (EventBus)", ("2.10.29",), "2.10.29",
           "the `jetstream.version` the EventBus asks for; the controller runs `nats:2.10.29`")
STRIMZI = Row(
    "Strimzi", ("0.49.0", "0.50.0", "0.51.0", "1.0.0"), "-",
    "`kafka.strimzi.io/v1` is served from 0.49.0 and is the only version from 1.0.0; Kafka 4.1.1 "
    "is supported up to 1.0.x (1.1.0 dropped 4.1)")
KAFKA = Row("Apache Kafka (KRaft)", ("4.1.1",), "4.1.1",
            "`spec.kafka.version` of the Kafka CR, metadata version 4.1-IV1; the broker our "
            "real-parts tests run")
OPENFAAS = Row(
    "OpenFaaS", ("CE", "Pro"), "-",
    "chart `openfaas` 15.x (gateway 0.27, faas-netes 0.18); stack.yml stays within CE's "
    "15 functions and 5 replicas (`devstack/manifests/openfaas_stack.py`)")
POSTGRESQL = Row("PostgreSQL", ("15", "16", "17"), "15 (Debian), image 17.5",
                 "the warehouse StatefulSet runs `postgres:17.5`; tests start the machine's own server")
KUBERNETES = Row("Kubernetes", ("1.33",), "-",
                 "built-in kinds validated against the strict 1.33 schemas; Strimzi 0.51+ needs 1.30+")
MATRIX = (ARGO_EVENTS, NATS, STRIMZI, KAFKA, OPENFAAS, POSTGRESQL, KUBERNETES)


def release_key(release: str) -> tuple[int, ...]:
    """``v1.9.10`` -> (1, 9, 10): tags compared as numbers, not text."""
    return tuple(int(part) for part in release.lstrip("v").split("."))


def argo_events_accepting(jetstream_version: str, empty_http_dest: bool) -> tuple[str, ...]:
    """The Argo Events tags whose controller starts our EventBus and accepts our Sensors."""
    floor = release_key(ARGO_EMPTY_HTTP_DEST_FROM) if empty_http_dest else (0,)
    return tuple(tag for tag, listed in ARGO_JETSTREAM_VERSIONS.items()
                 if jetstream_version in listed and release_key(tag) >= floor)


def strimzi_accepting(api_versions: set[str], kafka_version: str) -> tuple[str, ...]:
    """The Strimzi releases that serve every ``api_versions`` and can run ``kafka_version``."""
    return tuple(tag for tag, served in STRIMZI_SERVED_API_VERSIONS.items()
                 if api_versions <= set(served) and kafka_version in STRIMZI_KAFKA_VERSIONS[tag])


def matrix_table() -> str:
    """The README's version matrix, as Markdown."""
    lines = ["| component | releases that accept the manifests | tested here | why |",
             "|---|---|---|---|"]
    lines += [f"| {r.component} | {', '.join(r.releases)} | {r.tested} | {r.why} |" for r in MATRIX]
    return "\n".join(lines)
