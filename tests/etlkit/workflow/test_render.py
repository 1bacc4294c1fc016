"""Rendering manifests: committed output is current, output is deterministic, values cannot inject YAML."""
from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
import yaml
from jinja2.exceptions import SecurityError, UndefinedError

from etlkit.workflow import invocation
from etlkit.workflow.parse import parse_workflow
from etlkit.workflow.render import (
    OWNED_DIRS,
    UnsafeTemplateValue,
    render_all,
    render_workflow,
    template_environment,
)

REGENERATE = "committed manifests are stale: run `make render` (python -m etlkit.workflow.render) and commit"


def _generated(root: Path) -> dict[str, bytes]:
    return {
        p.relative_to(root).as_posix(): p.read_bytes()
        for folder in OWNED_DIRS
        for p in sorted((root / folder).glob("*.yaml"))
    }


def _docs(files) -> dict[str, dict]:
    """Rendered documents by short key: ``sensors/x``, ``event-sources/x``, ``topics/x``."""
    return {f"{f.path.parent.name}/{f.path.stem}": yaml.safe_load(f.text) for f in files}


def test_committed_manifests_equal_a_fresh_render(repo_root, tmp_path):
    written = render_all(repo_root / "workflows", tmp_path)

    fresh = _generated(tmp_path)
    assert sorted(fresh) == sorted(p.relative_to(tmp_path).as_posix() for p in written)
    committed = _generated(repo_root)
    assert sorted(committed) == sorted(fresh), REGENERATE
    for name, content in fresh.items():
        assert committed[name] == content, f"{name}: {REGENERATE}"


def test_render_is_deterministic_and_independent_of_key_order(make_doc, structural):
    doc = make_doc()
    reordered = dict(reversed(list(doc.items())))

    first = render_workflow(parse_workflow(doc, validator=structural), 3)
    again = render_workflow(parse_workflow(reordered, validator=structural), 3)

    assert [(f.path, f.text) for f in first] == [(f.path, f.text) for f in again]


def test_one_file_per_resource_named_after_it(make_doc, structural):
    files = render_workflow(parse_workflow(make_doc(), validator=structural), 1)

    paths = sorted(str(f.path) for f in files)
    assert paths == [
        "argo-events/event-sources/shop-shop-paid.yaml",
        "argo-events/event-sources/shop-shop-raw.yaml",
        "argo-events/event-sources/shop-shop-tidy.yaml",
        "argo-events/event-sources/shop-ticks.yaml",
        "argo-events/sensors/shop-autoscaler.yaml",
        "argo-events/sensors/shop-nightly.yaml",
        "argo-events/sensors/shop-paid.yaml",
        "argo-events/sensors/shop-sink.yaml",
        "argo-events/sensors/shop-tidy.yaml",
        "k8s/topics/shop-dlq.yaml",
        "k8s/topics/shop-paid.yaml",
        "k8s/topics/shop-raw.yaml",
        "k8s/topics/shop-tidy.yaml",
    ]
    for f in files:
        assert yaml.safe_load(f.text)["metadata"]["name"] == f.path.stem


def test_step_sensor_calls_the_function_with_the_contract_envelope(make_doc, structural):
    workflow = parse_workflow(make_doc(), validator=structural)
    sensor = _docs(render_workflow(workflow, 7))["sensors/shop-tidy"]

    trigger = sensor["spec"]["triggers"][0]
    assert trigger["template"]["http"]["url"] == "http://gateway.openfaas:8080/function/map"
    assert trigger["atLeastOnce"] is True and trigger["dlqTrigger"]["atLeastOnce"] is True
    assert trigger["policy"]["status"]["allow"] == [200]
    assert trigger["retryStrategy"] == {"steps": 3, "duration": "1s", "factor": 2.0, "jitter": 0.2}
    # One call per Kafka message (a record batch): no batching annotation of ours any more.
    assert sensor["metadata"]["annotations"] == {"faas-etl.dev/workflow-version": "7"}
    payload = trigger["template"]["http"]["payload"]
    assert payload == invocation.step_parameters("shop-paid-0", "shop", 7, workflow.step_spec(workflow.steps[1]))
    [step] = [p["src"]["value"] for p in payload if p["dest"] == "step"]
    assert json.loads(step) == workflow.step_spec(workflow.steps[1])


def test_no_sensor_filters_data_a_filter_condition_runs_in_its_function(make_doc, structural):
    """A message is a record batch: ``body.<field>`` names no record field, so nothing is pushed down."""
    doc = make_doc()
    doc["steps"][0]["condition"] = "amount > 0 and country in ['FR', 'DE']"

    docs = _docs(render_workflow(parse_workflow(doc, validator=structural), 1))

    sensors = [d for name, d in docs.items() if name.startswith("sensors/")]
    assert sensors and all("filters" not in dep for d in sensors for dep in d["spec"]["dependencies"])
    step = json.loads(docs["sensors/shop-paid"]["spec"]["triggers"][0]["template"]["http"]["payload"][2]["src"]["value"])
    assert step["condition"] == "amount > 0 and country in ['FR', 'DE']"


def test_dead_letter_trigger_names_a_dest_for_every_field(make_doc, structural):
    sensor = _docs(render_workflow(parse_workflow(make_doc(), validator=structural), 1))["sensors/shop-paid"]
    dlq = sensor["spec"]["triggers"][0]["dlqTrigger"]["template"]["kafka"]

    assert dlq["topic"] == "shop-dlq" and dlq["requiredAcks"] == -1
    assert [p["dest"] for p in dlq["payload"]] == ["step", "reason", "payload", "topic", "partition", "key", "id", "at"]
    assert dlq["payload"] == invocation.dead_letter_parameters("shop-raw-0", "paid", "filter did not answer 200 in 3 attempts")


def test_ticks_call_the_autoscaler_and_polled_sources(make_doc, structural):
    docs = _docs(render_workflow(parse_workflow(make_doc(), validator=structural), 1))

    calendar = docs["event-sources/shop-ticks"]["spec"]["calendar"]
    assert calendar == {"autoscaler": {"interval": "15s"}, "nightly": {"interval": "30s"}}
    autoscaler = docs["sensors/shop-autoscaler"]["spec"]
    assert autoscaler["dependencies"] == [{"name": "tick", "eventSourceName": "shop-ticks", "eventName": "autoscaler"}]
    template = autoscaler["triggers"][0]["template"]["http"]["payload"][0]["src"]["dataTemplate"]
    scaling = json.loads(invocation.expand_data_template(template, {"eventTime": "now"}))["scaling"]
    assert scaling["interval_ms"] == 15_000
    assert [(op["name"], op["inputs"][0]["consumer_group"]) for op in scaling["operations"]] == [
        ("paid", "faas-etl.shop.shop-raw"),
        ("tidy", "faas-etl.shop.shop-paid"),
        ("sink", "faas-etl.shop.shop-tidy"),
    ]
    assert docs["sensors/shop-nightly"]["spec"]["triggers"][0]["template"]["http"]["url"].endswith("/function/sql-source")


def test_two_workflows_reading_one_topic_have_their_own_eventsources(make_doc, structural):
    """Issue 16 item 7: an EventSource named after its topic alone is the same Kubernetes object
    for every workflow reading the topic, so applying the second replaces the first's (its
    consumer group and its Sensors' subjects with it). Named per workflow, both stand side by
    side, each Sensor depends on its own workflow's, and the lanes keep their event names."""
    other = make_doc()
    other["name"] = "shop2"
    rendered = {}
    for doc in (make_doc(), other):
        rendered.update({str(f.path): yaml.safe_load(f.text)
                         for f in render_workflow(parse_workflow(doc, validator=structural), 1)})
    sources = {path: doc for path, doc in rendered.items()
               if path.startswith("argo-events/event-sources/") and "kafka" in doc["spec"]}
    assert sorted(d["metadata"]["name"] for d in sources.values()) == [
        "shop-shop-paid", "shop-shop-raw", "shop-shop-tidy",
        "shop2-shop-paid", "shop2-shop-raw", "shop2-shop-tidy"]
    assert list(sources["argo-events/event-sources/shop2-shop-raw.yaml"]["spec"]["kafka"]) == ["shop-raw-0", "shop-raw-1"]
    for name in ("shop", "shop2"):
        sensor = rendered[f"argo-events/sensors/{name}-paid.yaml"]
        assert {d["eventSourceName"] for d in sensor["spec"]["dependencies"]} == {f"{name}-shop-raw"}


def test_kafka_eventsource_per_consumed_topic(make_doc, structural):
    docs = _docs(render_workflow(parse_workflow(make_doc(), validator=structural), 1))

    assert sorted(k for k, d in docs.items() if "kafka" in d["spec"]) == [
        "event-sources/shop-shop-paid", "event-sources/shop-shop-raw", "event-sources/shop-shop-tidy"
    ]
    lanes = docs["event-sources/shop-shop-raw"]["spec"]["kafka"]
    assert list(lanes) == ["shop-raw-0", "shop-raw-1"]  # one lane per partition (2)
    for source in lanes.values():  # one consumer group the lanes split the partitions in
        assert source["jsonBody"] is True and source["topic"] == "shop-raw"
        assert source["consumerGroup"]["groupName"] == "faas-etl.shop.shop-raw"


def test_a_step_sensor_has_a_trigger_per_lane_each_waiting_on_its_lane_alone(make_doc, structural):
    """A trigger has one event in flight (argo-events pkg/eventbus/jetstream/sensor/trigger_conn.go,
    Fetch(1)): the lanes are the step's calls in flight, every trigger the same call but its lane."""
    doc = make_doc()
    doc["topics"]["shop-raw"] = {"partitions": 3}
    sensor = _docs(render_workflow(parse_workflow(doc, validator=structural), 1))["sensors/shop-paid"]["spec"]

    assert sensor["dependencies"] == [
        {"name": f"shop-raw-{i}", "eventSourceName": "shop-shop-raw", "eventName": f"shop-raw-{i}"} for i in range(3)]
    triggers = sensor["triggers"]
    assert [(t["template"]["name"], t["template"]["conditions"]) for t in triggers] == [
        ("paid-0", "shop-raw-0"), ("paid-1", "shop-raw-1"), ("paid-2", "shop-raw-2")]
    assert [t["dlqTrigger"]["template"]["name"] for t in triggers] == [f"paid-{i}-dead-letter" for i in range(3)]

    def but_the_lane(trigger: dict) -> str:
        lane = trigger["template"]["conditions"]
        text = json.dumps(trigger).replace(json.dumps(lane), '"LANE"')
        return text.replace(json.dumps(trigger["template"]["name"])[:-1], '"TRIGGER')

    assert len({but_the_lane(t) for t in triggers}) == 1


def test_a_one_partition_input_has_one_lane_and_a_trigger_without_conditions(make_doc, structural):
    doc = make_doc()
    doc["topics"]["shop-raw"] = {"partitions": 1}
    sensor = _docs(render_workflow(parse_workflow(doc, validator=structural), 1))["sensors/shop-paid"]["spec"]

    [trigger] = sensor["triggers"]
    assert [d["name"] for d in sensor["dependencies"]] == ["shop-raw-0"]
    assert trigger["template"]["name"] == "paid-0" and "conditions" not in trigger["template"]


def test_kafka_topic_manifest(make_doc, structural):
    files = render_workflow(parse_workflow(make_doc(), validator=structural), 1)
    topic = next(yaml.safe_load(f.text) for f in files if str(f.path) == "k8s/topics/shop-raw.yaml")

    assert topic["apiVersion"] == "kafka.strimzi.io/v1" and topic["kind"] == "KafkaTopic"
    assert topic["metadata"]["labels"]["strimzi.io/cluster"] == "etl"
    assert topic["spec"] == {
        "partitions": 2,
        "replicas": 3,
        "config": {"retention.ms": 604_800_000, "min.insync.replicas": 2, "cleanup.policy": "delete",
                   "message.timestamp.type": "LogAppendTime"},
    }


def test_every_committed_topic_is_stamped_at_append():
    """Kafka deletes a segment once ``now - its largest timestamp > retention.ms`` (apache/kafka
    3.9.0, core/src/main/scala/kafka/log/UnifiedLog.scala, deleteRetentionMsBreachedSegments);
    ``message.timestamp.type: LogAppendTime`` makes the broker set that timestamp when it appends
    (storage/src/main/java/org/apache/kafka/storage/internals/log/LogValidator.java). Our
    messages would otherwise carry their newest record's event time, which for a window result or
    a backfill is older than the retention: every committed KafkaTopic (Strimzi's topic operator
    passes spec.config to the topic as it is) must say LogAppendTime."""
    import pathlib

    from etlkit.workflow.model import TOPIC_CONFIG

    committed = sorted((pathlib.Path(__file__).resolve().parents[3] / "k8s" / "topics").glob("*.yaml"))
    configs = {path.stem: yaml.safe_load(path.read_text())["spec"]["config"] for path in committed}
    assert configs and all(config.get("message.timestamp.type") == "LogAppendTime" for config in configs.values())
    assert dict(TOPIC_CONFIG) == {"message.timestamp.type": "LogAppendTime"}


def test_several_source_topics_get_a_trigger_each(make_doc, structural):
    doc = make_doc()
    doc["sources"][1]["topic"] = "shop-legacy"
    doc["topics"]["shop-legacy"] = {"partitions": 1}
    sensor = _docs(render_workflow(parse_workflow(doc, validator=structural), 1))["sensors/shop-paid"]

    assert [d["name"] for d in sensor["spec"]["dependencies"]] == ["shop-raw-0", "shop-raw-1", "shop-legacy-0"]
    triggers = sensor["spec"]["triggers"]
    assert [(t["template"]["name"], t["template"]["conditions"]) for t in triggers] == [
        ("paid-shop-raw-0", "shop-raw-0"), ("paid-shop-raw-1", "shop-raw-1"), ("paid-shop-legacy-0", "shop-legacy-0")
    ]
    for trigger in triggers:
        dependency = trigger["template"]["conditions"]
        assert {p["src"]["dependencyName"] for p in trigger["template"]["http"]["payload"]} == {dependency}
        assert {p["src"]["dependencyName"] for p in trigger["dlqTrigger"]["template"]["kafka"]["payload"]} == {dependency}


HOSTILE = [
    pytest.param("amount > 0\nkind: Secret", id="newline-then-key"),
    pytest.param("x == '}}' or y == '{{ .Input }}'", id="go-template-delimiters"),
    pytest.param("note == \"it's: # not a comment\"", id="quotes-colon-hash"),
    pytest.param("s == '\u2028\u0085\ufeff\x7f'", id="yaml-line-separators-and-controls"),
    pytest.param("s == '\U0001F600 caf\u00e9'", id="astral-and-accented"),
]


@pytest.mark.parametrize("condition", HOSTILE)
def test_hostile_condition_cannot_change_the_manifest(make_doc, structural, condition):
    doc = make_doc()
    doc["steps"][0]["condition"] = condition
    doc["steps"][1]["params"] = {"rename": {condition: "x"}}
    workflow = parse_workflow(doc, validator=structural)  # the stand-in lets these conditions through

    docs = _docs(render_workflow(workflow, 1))

    sensor = docs["sensors/shop-paid"]
    assert set(sensor) == {"apiVersion", "kind", "metadata", "spec"} and sensor["kind"] == "Sensor"
    for trigger in sensor["spec"]["triggers"]:  # one per lane
        assert set(trigger) == {"template", "retryStrategy", "policy", "atLeastOnce", "dlqTrigger"}
        payload = trigger["template"]["http"]["payload"]
        assert [p["dest"] for p in payload] == ["workflow", "version", "step", "id", "event"]
        assert json.loads(payload[2]["src"]["value"])["condition"] == condition
    tidy = docs["sensors/shop-tidy"]["spec"]["triggers"][0]["template"]["http"]["payload"][2]["src"]["value"]
    assert json.loads(tidy)["params"] == {"rename": {condition: "x"}}


def test_a_value_without_a_yaml_filter_is_refused():
    env = template_environment()

    with pytest.raises(UnsafeTemplateValue):
        env.from_string("name: {{ name }}\n").render(name="x\nkind: Secret")
    assert env.from_string("name: {{ name | tojson }}\n").render(name="x\nkind: Secret") == 'name: "x\\nkind: Secret"\n'


def test_templates_are_sandboxed_and_strict():
    env = template_environment()

    with pytest.raises(UndefinedError):
        env.from_string("{{ missing | tojson }}").render()
    with pytest.raises(SecurityError):
        env.from_string("{{ x.__class__.__mro__ | tojson }}").render(x="")


def test_render_all_removes_stale_files_and_keeps_unchanged_ones(repo_root, tmp_path):
    workflows = tmp_path / "workflows"
    workflows.mkdir()
    shutil.copy(repo_root / "workflows" / "host-metrics.yaml", workflows)
    out = tmp_path / "out"
    stale = out / "argo-events" / "sensors" / "gone-step.yaml"
    stale.parent.mkdir(parents=True)
    stale.write_text("old\n")
    unrelated = out / "argo-events" / "README.md"
    unrelated.write_text("keep\n")

    first = render_all(workflows, out)
    mtimes = {p: p.stat().st_mtime_ns for p in first}
    second = render_all(workflows, out)

    assert not stale.exists() and unrelated.exists()
    assert first == second
    assert {p: p.stat().st_mtime_ns for p in second} == mtimes


def test_render_all_refuses_two_workflows_claiming_one_topic(repo_root, tmp_path):
    workflows = tmp_path / "workflows"
    workflows.mkdir()
    text = (repo_root / "workflows" / "host-metrics.yaml").read_text()
    (workflows / "a.yaml").write_text(text)
    (workflows / "b.yaml").write_text(text.replace("name: host-metrics", "name: host-metrics-2"))

    with pytest.raises(ValueError, match=r"k8s/topics/metrics-raw.yaml is produced by both a.yaml and b.yaml"):
        render_all(workflows, tmp_path / "out")


def test_cli_help_and_run(repo_root, tmp_path, capsys):
    from etlkit.workflow.render import main

    with pytest.raises(SystemExit) as exited:
        main(["--help"])
    assert exited.value.code == 0 and "argo-events/" in capsys.readouterr().out
    assert main(["--workflows", str(repo_root / "workflows"), "--out", str(tmp_path)]) == 0
    assert "rendered 30 manifests" in capsys.readouterr().out
