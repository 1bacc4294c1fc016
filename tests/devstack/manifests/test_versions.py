"""The version matrix (devstack/manifests/versions.py, README "Version matrix") holds for every
manifest we ship: one test per upstream rule, each naming the file the rule was read from."""
from __future__ import annotations

import re
import subprocess

import pytest
import yaml

from devstack import realtools
from devstack.manifests import versions
from etlkit.runs.documents import KINDS
from etlkit.workflow.manifests import RenderSettings
from tests.fixtures.postgres import find_postgres_bin_dir


def _documents(root, folder: str) -> list[dict]:
    return [doc for path in sorted((root / folder).rglob("*.yaml"))
            for doc in yaml.safe_load_all(path.read_text()) if doc]


def _empty_http_dest(sensors: list[dict]) -> bool:
    return any(p.get("dest") == "" for s in sensors for t in s["spec"]["triggers"]
               for p in ((t["template"].get("http") or {}).get("payload") or []))


def test_every_argo_events_release_of_the_matrix_starts_our_eventbus_and_accepts_our_sensors(repo_root):
    """argo-events <tag>:manifests/base/controller-manager/controller-config.yaml lists the
    JetStream versions the controller can start, and <tag>:pkg/reconciler/sensor/validate.go
    (validateTriggerParameterForHTTP, from v1.9.8) accepts an HTTP payload with an empty dest.
    The matrix's releases are exactly those that accept both, and include the tested one."""
    bus = yaml.safe_load((repo_root / "argo-events/eventbus/default.yaml").read_text())
    jetstream = bus["spec"]["jetstream"]["version"]
    sensors = _documents(repo_root, "argo-events/sensors")
    accepting = versions.argo_events_accepting(jetstream, _empty_http_dest(sensors))
    assert versions.ARGO_EVENTS.releases == accepting
    assert versions.ARGO_EVENTS.tested in accepting
    assert RenderSettings().jetstream_version == jetstream == versions.NATS.tested == versions.NATS.releases[0]


def test_an_empty_http_dest_narrows_argo_events_to_v1_9_8_and_later():
    """The rule can fail: JetStream 2.10.10 alone is listed by v1.9.2-v1.9.9, of which an empty
    dest leaves v1.9.8-v1.9.9 (argo-events pkg/reconciler/sensor/validate.go)."""
    assert versions.argo_events_accepting("2.10.10", False) == tuple(f"v1.9.{n}" for n in range(2, 10))
    assert versions.argo_events_accepting("2.10.10", True) == ("v1.9.8", "v1.9.9")


def test_the_tools_build_the_tested_argo_events_and_nats(repo_root):
    """What "tested" means: the real binaries our real-parts tests run (tools/go/*/go.mod)."""
    argo = (repo_root / "tools/go/argo-events/go.mod").read_text()
    nats = (repo_root / "tools/go/nats-server/go.mod").read_text()
    assert re.search(rf"^require github.com/argoproj/argo-events {versions.ARGO_EVENTS.tested}$", argo, re.M)
    assert re.search(rf"^require github.com/nats-io/nats-server/v2 v{versions.NATS.tested}$", nats, re.M)


def test_every_strimzi_resource_uses_the_api_version_every_strimzi_release_of_the_matrix_serves(repo_root):
    """strimzi <tag>:packaging/install/cluster-operator/04*-Crd-*.yaml: v1 is served from
    0.49.0, v1beta2 no longer from 1.0.0. Checked: k8s/ (the Kafka, its node pool, the rendered
    KafkaTopics) and the API path the workflow manager writes KafkaTopics to."""
    used = {doc["apiVersion"] for doc in _documents(repo_root, "k8s")
            if doc["apiVersion"].startswith("kafka.strimzi.io/")}
    group, version, _ = KINDS["KafkaTopic"]
    used.add(f"{group}/{version}")
    assert used == {versions.STRIMZI_API_VERSION}
    for release in versions.STRIMZI.releases:
        assert used <= set(versions.STRIMZI_SERVED_API_VERSIONS[release]), release


def test_the_strimzi_releases_of_the_matrix_are_those_that_serve_v1_and_run_our_kafka(repo_root):
    """strimzi <tag>:kafka-versions.yaml (supported: true) and the CRDs' served versions: the
    matrix's Strimzi range is exactly the releases that run the Kafka CR's version on v1."""
    kafka = next(d for d in _documents(repo_root, "k8s/kafka") if d["kind"] == "Kafka")
    version = kafka["spec"]["kafka"]["version"]
    assert versions.strimzi_accepting({versions.STRIMZI_API_VERSION}, version) == versions.STRIMZI.releases
    assert versions.strimzi_accepting({"kafka.strimzi.io/v1beta2"}, version) == ("0.49.0", "0.50.0", "0.51.0")


def test_the_kafka_cr_runs_the_broker_our_real_parts_tests_run(repo_root):
    """tools/kafka/pom.xml pins the Apache Kafka the real-parts tests run; the Kafka CR asks for
    that release and its default KRaft metadata version."""
    kafka = next(d for d in _documents(repo_root, "k8s/kafka") if d["kind"] == "Kafka")["spec"]["kafka"]
    pom = (repo_root / "tools/kafka/pom.xml").read_text()
    pinned = re.search(r"<kafka.version>([^<]+)</kafka.version>", pom).group(1)
    assert kafka["version"] == pinned == versions.KAFKA.tested
    assert kafka["metadataVersion"] == versions.KAFKA_METADATA_VERSIONS[pinned]


def test_the_real_broker_reports_the_metadata_version_the_kafka_cr_asks_for():
    """Kafka's own StorageTool (`kafka-storage.sh version-mapping`) of the broker in .tools/."""
    missing = realtools.kafka_missing()
    if missing:
        pytest.skip("; ".join(missing))
    out = subprocess.run([realtools.java(), "-cp", realtools.kafka_classpath(), "kafka.tools.StorageTool",
                          "version-mapping"], capture_output=True, text=True, timeout=60, check=True).stdout
    assert f"({versions.KAFKA_METADATA_VERSIONS[versions.KAFKA.tested]})" in out.splitlines()[0]


def test_the_warehouse_image_and_the_tested_server_are_postgresql_releases_of_the_matrix(repo_root):
    """The StatefulSet's image and the server the tests start (tests/fixtures/postgres.py)."""
    statefulset = yaml.safe_load((repo_root / "k8s/postgres/statefulset.yaml").read_text())
    image = statefulset["spec"]["template"]["spec"]["containers"][0]["image"]
    assert re.fullmatch(r"docker\.io/library/postgres:(\d+)\.\d+-\w+", image).group(1) in versions.POSTGRESQL.releases
    bin_dir = find_postgres_bin_dir()
    if bin_dir is None:
        pytest.skip("no PostgreSQL server binaries on this machine")
    out = subprocess.run([str(bin_dir / "postgres"), "--version"], capture_output=True, text=True, check=True).stdout
    assert re.search(r"(\d+)\.\d+", out).group(1) in versions.POSTGRESQL.releases


def test_the_readme_publishes_the_matrix(repo_root):
    """README "Version matrix" is the table of versions.py, word for word."""
    assert versions.matrix_table() in (repo_root / "README.md").read_text()


def test_k8s_readme_names_the_same_versions(repo_root):
    text = (repo_root / "k8s/README.md").read_text()
    assert "v1beta2" not in text
    for row in (versions.ARGO_EVENTS, versions.STRIMZI, versions.KAFKA):
        assert all(release in text for release in (row.releases[0], row.releases[-1])), row.component
