"""stack.yml against faas-cli's rules and Community Edition limits: one broken field per case."""
from __future__ import annotations

from typing import Any

import pytest

from devstack.manifests.openfaas_stack import EDITION_LABEL, edition, stack_problems

from .conftest import assert_named
from .example_repo import valid_files

STACK = "stack.yml"
FILTER = "functions.filter"
SCALE_MIN = '"com.openfaas.scale.min"'
SCALE_MAX = '"com.openfaas.scale.max"'


def _stack(files: dict) -> dict[str, Any]:
    return files[STACK][0]


def _filter(files: dict) -> dict[str, Any]:
    return _stack(files)["functions"]["filter"]


def _sixteen_functions(files: dict) -> None:
    functions = _stack(files)["functions"]
    for number in range(16 - len(functions)):
        functions[f"step-{number}"] = dict(functions["map"])


def _label_all_pro(files: dict) -> None:
    for function in _stack(files)["functions"].values():
        function.setdefault("labels", {})[EDITION_LABEL] = "pro"


CASES = [
    pytest.param(lambda f: _filter(f).update(enviroment={"A": "1"}),
                 f"{FILTER}.enviroment", "unknown field", id="unknown-function-field"),
    pytest.param(lambda f: _stack(f).update(functionz={}),
                 "functionz", "unknown field", id="unknown-top-level-field"),
    pytest.param(lambda f: _stack(f)["provider"].update(name="faas"),
                 "provider.name", "must be 'openfaas'", id="provider-not-openfaas"),
    pytest.param(lambda f: _stack(f).update(version=2.0),
                 "version", "must be 1.0", id="version-not-1.0"),
    pytest.param(lambda f: _stack(f)["functions"].update(Filter_Fn=_filter(f)),
                 "functions.Filter_Fn", "must match ^[a-z0-9]", id="function-name-not-dns"),
    pytest.param(lambda f: _filter(f).pop("image"),
                 f"{FILTER}.image", "is required", id="missing-image"),
    pytest.param(lambda f: _filter(f).pop("lang"),
                 f"{FILTER}.lang", "is required", id="missing-lang"),
    pytest.param(lambda f: _filter(f).update(handler="./functions/missing"),
                 f"{FILTER}.handler", "does not exist", id="handler-folder-missing"),
    pytest.param(lambda f: _filter(f).update(lang="go"),
                 f"{FILTER}.lang", "no template/go folder", id="template-missing"),
    pytest.param(lambda f: _stack(f)["configuration"]["copy"].append("./shared-lib"),
                 "configuration.copy[1]", "does not exist", id="copy-path-missing"),
    pytest.param(lambda f: _stack(f)["configuration"]["copy"].append("../outside"),
                 "configuration.copy[1]", "inside the project", id="copy-path-outside"),
    pytest.param(lambda f: _filter(f)["environment"].update(BATCH=500),
                 f"{FILTER}.environment.BATCH", "must be a string (quote it)",
                 id="environment-value-not-string"),
    pytest.param(lambda f: _filter(f)["labels"].update({"com.openfaas.scale.min": 1}),
                 f"{FILTER}.labels[{SCALE_MIN}]", "must be a string (quote it)",
                 id="label-value-not-string"),
    pytest.param(lambda f: _filter(f).update(annotations={"topic": True}),
                 f"{FILTER}.annotations.topic", "must be a string", id="annotation-not-string"),
    pytest.param(lambda f: _filter(f)["limits"].update(memory=128),
                 f"{FILTER}.limits.memory", "must be a string", id="limit-not-string"),
    pytest.param(lambda f: _filter(f)["limits"].update(gpu="1"),
                 f"{FILTER}.limits.gpu", "unknown field", id="limit-unknown-resource"),
    pytest.param(lambda f: _filter(f).update(secrets=["Warehouse_Password"]),
                 f"{FILTER}.secrets[0]", "lower-case DNS name", id="secret-name-invalid"),
    pytest.param(lambda f: _filter(f)["labels"].update({"com.openfaas.scale.max": "10"}),
                 f"{FILTER}.labels[{SCALE_MAX}]", "at most 5 replicas", id="ce-max-above-5"),
    pytest.param(lambda f: _filter(f)["labels"].update({"com.openfaas.scale.min": "6"}),
                 f"{FILTER}.labels[{SCALE_MIN}]", "at most 5 replicas", id="ce-min-above-5"),
    pytest.param(lambda f: _filter(f)["labels"].update({"com.openfaas.scale.min": "0"}),
                 f"{FILTER}.labels[{SCALE_MIN}]", "cannot scale to zero", id="ce-min-zero"),
    pytest.param(lambda f: _filter(f)["labels"].update({"com.openfaas.scale.min": "4",
                                                        "com.openfaas.scale.max": "2"}),
                 f"{FILTER}.labels[{SCALE_MIN}]", "must not exceed", id="min-above-max"),
    pytest.param(lambda f: _filter(f)["labels"].update({"com.openfaas.scale.zero": "true"}),
                 f'{FILTER}.labels["com.openfaas.scale.zero"]', "Pro only", id="ce-scale-zero"),
    pytest.param(lambda f: _filter(f)["labels"].update({"com.openfaas.scale.target": "50"}),
                 f'{FILTER}.labels["com.openfaas.scale.target"]', "Pro only", id="ce-scale-target"),
    pytest.param(lambda f: _filter(f)["labels"].update({"com.openfaas.scale.type": "rps"}),
                 f'{FILTER}.labels["com.openfaas.scale.type"]', "Pro only", id="ce-scale-type"),
    pytest.param(_sixteen_functions, "functions", "at most 15 functions",
                 id="ce-more-than-15-functions"),
    pytest.param(lambda f: _filter(f).update(namespace="etl"),
                 f"{FILTER}.namespace", "only to openfaas-fn", id="ce-other-namespace"),
    pytest.param(lambda f: _filter(f)["labels"].update({EDITION_LABEL: "pro"}),
                 f'functions.map.labels["{EDITION_LABEL}"]', "label every function pro, or none",
                 id="edition-declared-on-some-functions"),
    pytest.param(lambda f: _filter(f)["environment"].update(
                     KAFKA_BOOTSTRAP="etl-kafka-bootstrap.kafka:9093"),
                 f"{FILTER}.environment.KAFKA_BOOTSTRAP", "listens on 9092",
                 id="kafka-bootstrap-wrong-port"),
    pytest.param(lambda f: _filter(f)["environment"].update(
                     KAFKA_BOOTSTRAP="etl-kafka-bootstrap.default.svc:9092"),
                 f"{FILTER}.environment.KAFKA_BOOTSTRAP", "lives in namespace kafka",
                 id="kafka-bootstrap-wrong-namespace"),
    pytest.param(lambda f: _stack(f)["functions"]["autoscaler"]["annotations"].update(
                     {"com.openfaas.serviceaccount": "controller"}),
                 'functions.autoscaler.annotations["com.openfaas.serviceaccount"]',
                 "no ServiceAccount 'controller'", id="service-account-not-in-k8s"),
]


@pytest.mark.parametrize(("mutate", "path", "rule"), CASES)
def test_stack_rule_names_path_and_rule(files, validate_repo, mutate, path, rule):
    mutate(files)
    assert_named(validate_repo(files), STACK, path, rule)


def test_pro_edition_still_needs_min_below_max(files, validate_repo):
    _label_all_pro(files)
    _filter(files)["labels"].update({"com.openfaas.scale.min": "30",
                                     "com.openfaas.scale.max": "20"})
    assert [(f.path, f.rule) for f in validate_repo(files).findings] == [
        (f"{FILTER}.labels[{SCALE_MIN}]", 'must not exceed com.openfaas.scale.max')]


def test_pro_edition_lifts_community_limits(files, validate_repo):
    _label_all_pro(files)
    _sixteen_functions(files)
    _filter(files)["labels"].update({"com.openfaas.scale.max": "20",
                                     "com.openfaas.scale.zero": "true"})
    assert validate_repo(files).findings == ()


@pytest.mark.parametrize(("labels", "expected"), [
    pytest.param([None, None], "ce", id="no-label-is-community"),
    pytest.param(["pro", "pro"], "pro", id="all-pro"),
    pytest.param(["pro", None], "ce", id="mixed-counts-as-community"),
    pytest.param([], "ce", id="no-functions"),
])
def test_edition(labels, expected):
    functions = {f"fn{i}": {"labels": {EDITION_LABEL: v}} if v else {}
                 for i, v in enumerate(labels)}
    assert edition(functions) == expected


def test_version_written_as_text_is_accepted():
    stack = valid_files()[STACK][0]
    stack["version"] = "1.0"
    assert list(stack_problems(stack, exists=lambda path: True)) == []
