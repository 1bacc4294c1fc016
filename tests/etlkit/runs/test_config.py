"""The Runner's configuration: read from the environment, refused naming the variable and rule."""
import pytest

from etlkit.controller.errors import ConfigError
from etlkit.runs.config import RunConfig
from etlkit.workflow.manifests import RenderSettings

LOCAL = {"KAFKA_BOOTSTRAP": "127.0.0.1:9092", "OPENFAAS_URL": "http://127.0.0.1:8080"}
CLUSTER = {"KUBERNETES_SERVICE_HOST": "10.0.0.1", "KAFKA_BOOTSTRAP": "etl-kafka-bootstrap.kafka.svc:9092"}


def test_locally_the_backend_is_the_run_folder_and_counters_come_from_the_replicas(tmp_path):
    config = RunConfig.from_env(LOCAL, run_dir=str(tmp_path))
    assert (config.backend, config.counters) == ("local", "replicas")
    assert config.apply_dir == tmp_path / "argo-apply"
    assert config.status_dir == tmp_path / "argo-runs"
    assert config.render_settings() == RenderSettings()  # the committed manifests, as a cluster gets them


def test_in_a_cluster_the_backend_is_kubernetes_and_documents_name_the_configured_places():
    config = RunConfig.from_env({**CLUSTER, "ARGO_NAMESPACE": "events", "KAFKA_NAMESPACE": "streams",
                                 "PROMETHEUS_URL": "http://prometheus.openfaas:9090"}, run_dir="/tmp")
    assert (config.backend, config.counters, config.run_dir) == ("kubernetes", "prometheus", "")
    settings = config.render_settings()
    assert (settings.argo_namespace, settings.kafka_namespace) == ("events", "streams")
    assert settings.gateway_url == "http://gateway.openfaas:8080"
    assert settings.kafka_url == "etl-kafka-bootstrap.kafka.svc:9092"


def test_in_a_cluster_without_prometheus_there_are_no_counters():
    assert RunConfig.from_env(CLUSTER).counters == "none"


@pytest.mark.parametrize(("env", "run_dir", "field", "rule"), [
    pytest.param({**LOCAL, "RUN_BACKEND": "nomad"}, "/tmp", "RUN_BACKEND", "must be local or kubernetes",
                 id="unknown-backend"),
    pytest.param({"OPENFAAS_URL": "http://127.0.0.1:8080"}, "/tmp", "KAFKA_BOOTSTRAP",
                 "required, the bootstrap servers", id="no-kafka"),
    pytest.param(LOCAL, "", "FAAS_ETL_RUN_DIR",
                 "required with RUN_BACKEND=local (the folder the local reconciler watches)", id="no-run-dir"),
    pytest.param({**CLUSTER, "ARGO_NAMESPACE": "Argo_Events"}, "", "ARGO_NAMESPACE",
                 "must be a DNS-1123 label (lowercase letters, digits, '-'; at most 63)", id="bad-namespace"),
    pytest.param({**CLUSTER, "RUN_COUNTERS": "prometheus"}, "", "PROMETHEUS_URL",
                 "required with RUN_COUNTERS=prometheus", id="prometheus-without-url"),
    pytest.param({**CLUSTER, "PROMETHEUS_URL": "prometheus:9090"}, "", "PROMETHEUS_URL",
                 "must be an http(s) URL", id="url-without-scheme"),
    pytest.param({"KAFKA_BOOTSTRAP": "k:9092"}, "/tmp", "OPENFAAS_URL",
                 "required with RUN_COUNTERS=replicas (the gateway lists the replicas)", id="replicas-without-gateway"),
    pytest.param({**LOCAL, "RUN_TIMEOUT_S": "90"}, "/tmp", "RUN_TIMEOUT_S",
                 "must be > 0 and <= 50 (below the call's own timeout)", id="timeout-past-the-call"),
])
def test_a_bad_environment_is_refused_naming_the_variable_and_the_rule(env, run_dir, field, rule):
    with pytest.raises(ConfigError) as err:
        RunConfig.from_env(env, run_dir=run_dir)
    assert (err.value.field, err.value.rule) == (field, rule)
