"""The local runner is the size of what we emit: every construct it no longer runs is refused at
load, naming file, field path and the rule; every committed and every rendered manifest loads.

Each row of ``REFUSED`` changes one field of manifests in the rendered shape (``factory``) to a
construct Argo Events has and the renderer does not write. The real Argo Events is the reference
for those (``devstack/realargo``); this runner must never accept them and then behave otherwise.
"""
from __future__ import annotations

import pathlib

import pytest

from devstack.argo.manifests import load_manifests
from devstack.argo.yamlnode import ManifestError
from etlkit.workflow.parse import load_workflow, parse_workflow
from etlkit.workflow.render import FILE_VERSION, render_workflow
from etlkit.workflow.step_hooks import StructuralStepValidator

from . import factory

REPO = pathlib.Path(__file__).resolve().parents[3]
WORKFLOWS = sorted((REPO / "workflows").glob("*.yaml"))
UNSUPPORTED = "not supported by the local runner (only what etlkit/workflow/render.py emits: "
SENSOR, KAFKA, CALENDAR = "sensors/paid-only.yaml", "event-sources/orders-raw.yaml", "event-sources/ticks.yaml"


def _docs():
    return {"kafka": factory.kafka_eventsource("orders-raw", "orders-raw", "orders"),
            "calendar": factory.calendar_eventsource("ticks", "tick", schedule="*/5 * * * *"),
            "sensor": factory.sensor("paid-only", "orders-raw", "orders-raw", "filter", dlq_topic="orders-dlq")}


def _dep(d):
    return d["sensor"]["spec"]["dependencies"][0]


def _trigger(d):
    return d["sensor"]["spec"]["triggers"][0]


def _http(d):
    return _trigger(d)["template"]["http"]


def _src(d):
    return _http(d)["payload"][0]["src"]


def _id_src(d):
    return _http(d)["payload"][3]["src"]  # contextKey: id


def _event_src(d):
    return _http(d)["payload"][4]["src"]  # dataKey: "@this", useRawData


def _dlq(d):
    return _trigger(d)["dlqTrigger"]["template"]


# The field paths of the step payload's parameters the rows below change.
ID_SRC, EVENT_SRC = "spec.triggers[0].template.http.payload[3].src", "spec.triggers[0].template.http.payload[4].src"
AT_TEMPLATE = "spec.triggers[0].dlqTrigger.template.kafka.payload[7].src.dataTemplate"


def _at_src(d):
    return _dlq(d)["kafka"]["payload"][7]["src"]  # dataTemplate: {{ (now).UnixMilli }}


def _data(**entry):
    return {"data": [{"path": "body.a", "type": "number", "value": ["1"], "comparator": "=", **entry}]}


def _second_dependency(d, conditions):
    d["more"] = factory.kafka_eventsource("more", "more", "g")
    d["sensor"]["spec"]["dependencies"].append({"name": "b", "eventSourceName": "more", "eventName": "more"})
    _trigger(d)["template"]["conditions"] = conditions


# (change, file, field path): each a construct the renderer does not write.
REFUSED = {
    # dependencies: name, eventSourceName, eventName; no filters (the step function filters records)
    "data-filter": (lambda d: _dep(d).update(filters=_data()), SENSOR, "spec.dependencies[0].filters"),
    "exprs": (lambda d: _dep(d).update(filters={"exprs": [{"expr": "a > 1", "fields": [{"name": "a", "path": "body.a"}]}]}),
              SENSOR, "spec.dependencies[0].filters"),
    "context-filter": (lambda d: _dep(d).update(filters={"context": {"type": "kafka"}}),
                       SENSOR, "spec.dependencies[0].filters"),
    "filters-logical-or": (lambda d: _dep(d).update(filtersLogicalOperator="or"),
                           SENSOR, "spec.dependencies[0].filtersLogicalOperator"),
    "transform": (lambda d: _dep(d).update(transform={"jq": ".body"}), SENSOR, "spec.dependencies[0].transform"),
    # the local runner's old batching: one request per Kafka message now, as Argo sends it
    "batch-size-annotation": (lambda d: d["sensor"]["metadata"].update(annotations={"faas-etl.dev/batch-size": "500"}),
                              SENSOR, "metadata.annotations.faas-etl.dev/batch-size"),
    "batch-wait-annotation": (lambda d: d["sensor"]["metadata"].update(annotations={"faas-etl.dev/batch-wait-ms": "50"}),
                              SENSOR, "metadata.annotations.faas-etl.dev/batch-wait-ms"),
    # payload parameters: one of value, contextKey id, dataKey (+ useRawData; a plain path or @this),
    # dataTemplate; dest a plain key, or "" for a tick's one dataTemplate
    "gjson-modifier-key": (lambda d: _dlq(d)["kafka"]["payload"][2]["src"].update(dataKey="body|@pretty"),
                           SENSOR, "spec.triggers[0].dlqTrigger.template.kafka.payload[2].src.dataKey"),
    "gjson-other-modifier": (lambda d: _event_src(d).update(dataKey="@reverse"), SENSOR, f"{EVENT_SRC}.dataKey"),
    "gjson-path-after-this": (lambda d: _event_src(d).update(dataKey="@this.body"), SENSOR, f"{EVENT_SRC}.dataKey"),
    "template-field": (lambda d: _at_src(d).update(dataTemplate='{"id": {{ .Input.body.id }}}'), SENSOR, AT_TEMPLATE),
    "template-sprig": (lambda d: _at_src(d).update(dataTemplate="{{ toJson .Input | b64enc }}"), SENSOR, AT_TEMPLATE),
    "template-control": (lambda d: _at_src(d).update(dataTemplate="{{ if .Input }}{{ toJson .Input }}{{ end }}"),
                         SENSOR, AT_TEMPLATE),
    "context-key-other-than-id": (lambda d: _id_src(d).update(contextKey="source"), SENSOR, f"{ID_SRC}.contextKey"),
    "context-template": (lambda d: (_id_src(d).pop("contextKey"), _id_src(d).update(contextTemplate="{{ .ID }}")),
                         SENSOR, f"{ID_SRC}.contextTemplate"),
    "whole-event": (lambda d: _src(d).pop("value"), SENSOR, "spec.triggers[0].template.http.payload[0].src"),
    "key-with-value": (lambda d: _event_src(d).update(value="fallback"), SENSOR, EVENT_SRC),
    "context-key-with-value": (lambda d: _id_src(d).update(value="fallback"), SENSOR, ID_SRC),
    "raw-value": (lambda d: _dlq(d)["kafka"]["payload"][0]["src"].update(useRawData=True),
                  SENSOR, "spec.triggers[0].dlqTrigger.template.kafka.payload[0].src.useRawData"),
    "operation-append": (lambda d: _dlq(d)["kafka"]["payload"][0].update(operation="append"),
                         SENSOR, "spec.triggers[0].dlqTrigger.template.kafka.payload[0].operation"),
    "nested-dest": (lambda d: _dlq(d)["kafka"]["payload"][0].update(dest="meta.step"),
                    SENSOR, "spec.triggers[0].dlqTrigger.template.kafka.payload[0].dest"),
    "whole-body-of-a-step": (lambda d: _http(d).update(payload=[{"src": {"dependencyName": "in", "dataKey": "@this"},
                                                                 "dest": ""}]),
                             SENSOR, "spec.triggers[0].template.http.payload[0].dest"),
    "whole-body-beside-others": (lambda d: _http(d)["payload"].append(
        {"src": {"dependencyName": "in", "dataTemplate": "{{ toJson .Input }}"}, "dest": ""}),
        SENSOR, "spec.triggers[0].template.http.payload"),
    # HTTP triggers: url, method POST, headers, timeout, payload
    "secure-headers": (lambda d: _http(d).update(secureHeaders=[{"name": "X", "valueFrom": {"secretKeyRef": {
        "name": "s", "key": "k"}}}]), SENSOR, "spec.triggers[0].template.http.secureHeaders"),
    "dynamic-headers": (lambda d: _http(d).update(dynamicHeaders=[{"src": {"dependencyName": "in", "dataKey": "key"},
                                                                   "dest": "X-Key"}]),
                        SENSOR, "spec.triggers[0].template.http.dynamicHeaders"),
    "basic-auth": (lambda d: _http(d).update(basicAuth={"username": {"name": "s", "key": "u"}}),
                   SENSOR, "spec.triggers[0].template.http.basicAuth"),
    "http-get": (lambda d: _http(d).update(method="GET"), SENSOR, "spec.triggers[0].template.http.method"),
    "http-parameters": (lambda d: _http(d).update(parameters=[{"src": {"dependencyName": "in", "value": "x"},
                                                               "dest": "url"}]),
                        SENSOR, "spec.triggers[0].template.http.parameters"),
    "http-tls": (lambda d: _http(d).update(tls={"insecureSkipVerify": True}), SENSOR, "spec.triggers[0].template.http.tls"),
    # Kafka triggers: only as the dlqTrigger, url, topic, requiredAcks, payload
    "kafka-partitioning-key": (lambda d: _dlq(d)["kafka"].update(partitioningKey="k"),
                               SENSOR, "spec.triggers[0].dlqTrigger.template.kafka.partitioningKey"),
    "kafka-headers": (lambda d: _dlq(d)["kafka"].update(headers={"h": "v"}),
                      SENSOR, "spec.triggers[0].dlqTrigger.template.kafka.headers"),
    "kafka-compress": (lambda d: _dlq(d)["kafka"].update(compress=True),
                       SENSOR, "spec.triggers[0].dlqTrigger.template.kafka.compress"),
    "kafka-main-trigger": (lambda d: _trigger(d).update(template={"name": "t", "kafka": _dlq(d)["kafka"]}),
                           SENSOR, "spec.triggers[0].template.kafka"),
    "http-dead-letter": (lambda d: _trigger(d)["dlqTrigger"].update(template={"name": "t", "http": _http(d)}),
                         SENSOR, "spec.triggers[0].dlqTrigger.template.http"),
    "log-interval": (lambda d: _trigger(d).update(template={"name": "t", "log": {"intervalSeconds": 5}}),
                     SENSOR, "spec.triggers[0].template.log.intervalSeconds"),
    "slack-trigger": (lambda d: _trigger(d)["template"].update(slack={"channel": "x"}),
                      SENSOR, "spec.triggers[0].template.slack"),
    # triggers: one dependency's name as conditions, no reset, no rate limit, no parameters
    "conditions-or": (lambda d: _second_dependency(d, "in || b"), SENSOR, "spec.triggers[0].template.conditions"),
    "conditions-and": (lambda d: _second_dependency(d, "in && b"), SENSOR, "spec.triggers[0].template.conditions"),
    "conditions-reset": (lambda d: _trigger(d)["template"].update(conditionsReset=[{"byTime": {"cron": "0 0 * * *"}}]),
                         SENSOR, "spec.triggers[0].template.conditionsReset"),
    "rate-limit": (lambda d: _trigger(d).update(rateLimit={"unit": "Second", "requestsPerUnit": 10}),
                   SENSOR, "spec.triggers[0].rateLimit"),
    "trigger-parameters": (lambda d: _trigger(d).update(parameters=[{"src": {"dependencyName": "in", "value": "x"},
                                                                     "dest": "http.url"}]),
                           SENSOR, "spec.triggers[0].parameters"),
    "k8s-policy": (lambda d: _trigger(d)["policy"].update(k8s={"backoff": {"steps": 1}}),
                   SENSOR, "spec.triggers[0].policy.k8s"),
    "error-on-failed-round": (lambda d: d["sensor"]["spec"].update(errorOnFailedRound=True),
                              SENSOR, "spec.errorOnFailedRound"),
    # Kafka EventSources: url, topic, jsonBody: true, consumerGroup
    "kafka-partition": (lambda d: d["kafka"]["spec"]["kafka"]["orders-raw"].update(partition="0"),
                        KAFKA, "spec.kafka.orders-raw.partition"),
    "kafka-metadata": (lambda d: d["kafka"]["spec"]["kafka"]["orders-raw"].update(metadata={"a": "b"}),
                       KAFKA, "spec.kafka.orders-raw.metadata"),
    "kafka-rate-limit": (lambda d: d["kafka"]["spec"]["kafka"]["orders-raw"].update(limitEventsPerSecond=10),
                         KAFKA, "spec.kafka.orders-raw.limitEventsPerSecond"),
    "kafka-base64-body": (lambda d: d["kafka"]["spec"]["kafka"]["orders-raw"].update(jsonBody=False),
                          KAFKA, "spec.kafka.orders-raw.jsonBody"),
    "kafka-source-filter": (lambda d: d["kafka"]["spec"]["kafka"]["orders-raw"].update(filter={"expression": "true"}),
                            KAFKA, "spec.kafka.orders-raw.filter"),
    "kafka-sasl": (lambda d: d["kafka"]["spec"]["kafka"]["orders-raw"].update(sasl={"mechanism": "PLAIN"}),
                   KAFKA, "spec.kafka.orders-raw.sasl"),
    # calendar EventSources: interval, or schedule with timezone "UTC"
    "calendar-exclusion-dates": (lambda d: d["calendar"]["spec"]["calendar"]["tick"].update(
        exclusionDates=["EXDATE:20261224T000000Z"]), CALENDAR, "spec.calendar.tick.exclusionDates"),
    "calendar-metadata": (lambda d: d["calendar"]["spec"]["calendar"]["tick"].update(metadata={"a": "b"}),
                          CALENDAR, "spec.calendar.tick.metadata"),
    "calendar-persistence": (lambda d: d["calendar"]["spec"]["calendar"]["tick"].update(
        persistence={"catchup": {"enabled": True}}), CALENDAR, "spec.calendar.tick.persistence"),
    "calendar-other-zone": (lambda d: d["calendar"]["spec"]["calendar"]["tick"].update(timezone="Europe/Paris"),
                            CALENDAR, "spec.calendar.tick.timezone"),
    "calendar-schedule-in-local-zone": (lambda d: d["calendar"]["spec"]["calendar"]["tick"].pop("timezone"),
                                        CALENDAR, "spec.calendar.tick.timezone"),
    "calendar-interval-with-zone": (lambda d: d["calendar"]["spec"]["calendar"]["tick"].update(
        schedule=None, interval="10s"), CALENDAR, "spec.calendar.tick.timezone"),
    "webhook-source": (lambda d: d["kafka"]["spec"].update(webhook={"x": {"port": "12000"}}), KAFKA, "spec.webhook"),
}


@pytest.mark.parametrize("change, file, path", list(REFUSED.values()), ids=list(REFUSED))
def test_a_construct_the_renderer_does_not_write_is_refused_naming_file_path_and_rule(tmp_path, change, file, path):
    docs = _docs()
    change(docs)
    with pytest.raises(ManifestError) as info:
        load_manifests(factory.write(tmp_path, *docs.values()))
    assert (info.value.file, info.value.path) == (file, path), str(info.value)
    assert UNSUPPORTED in info.value.rule, str(info.value)


def test_the_unchanged_shapes_load(tmp_path):
    manifests = load_manifests(factory.write(tmp_path, *_docs().values()))
    assert len(manifests.sources) == 2 and len(manifests.sensors) == 1


def test_every_committed_manifest_loads():
    manifests = load_manifests(REPO / "argo-events")
    assert len(manifests.sensors) >= 10 and manifests.warnings == ()


def _write(files, root: pathlib.Path) -> pathlib.Path:
    for f in files:
        if f.path.parts[0] == "argo-events":
            target = root / f.path
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_text(f.text, encoding="utf-8")
    return root / "argo-events"


@pytest.mark.parametrize("workflow", [pytest.param(p, id=p.stem) for p in WORKFLOWS])
def test_every_manifest_rendered_from_an_example_workflow_loads(tmp_path, workflow):
    files = render_workflow(load_workflow(workflow), FILE_VERSION)
    manifests = load_manifests(_write(files, tmp_path))
    assert len(manifests.sensors) == sum(f.path.parts[1] == "sensors" for f in files)


def test_the_shapes_the_examples_do_not_use_load(tmp_path):
    """A filter step (no Sensor filter any more), a step of two input topics, a cron tick."""
    doc = {
        "name": "shop", "description": "every rendered shape",
        "sources": [{"name": "api", "kind": "http", "topic": "shop-raw", "key": "id"},
                    {"name": "legacy", "kind": "sql", "topic": "shop-legacy", "table": "orders",
                     "cursor": "updated_at", "url": "env:SHOP_DB_URL", "schedule": "*/5 * * * *", "key": "id"}],
        "steps": [{"name": "paid", "kind": "filter", "output": "shop-paid",
                   "condition": "amount >= 10.5 and country in ['FR', 'D.E'] and paid == true and n < 3"}],
        "sink": {"table": "shop_orders", "key": "id"},
        "topics": {"shop-raw": {}, "shop-legacy": {}, "shop-paid": {}, "shop-dlq": {}},
        "dead_letter": "shop-dlq", "scaling": {"schedule": "0 * * * *"},
    }
    files = render_workflow(parse_workflow(doc, validator=StructuralStepValidator()), 2)
    manifests = load_manifests(_write(files, tmp_path))
    (paid,) = [s for s in manifests.sensors if s.name == "shop-paid"]
    assert [t.dependencies for t in paid.triggers] == [  # one trigger per lane (3 partitions each)
        (f"{topic}-{lane}",) for topic in ("shop-raw", "shop-legacy") for lane in range(3)]
    assert any(type(s.schedule).__name__ == "CronSchedule" for s in manifests.sources if hasattr(s, "schedule"))
