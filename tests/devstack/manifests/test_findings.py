"""Finding paths and the merge that keeps one finding per mistake."""
from __future__ import annotations

import pytest

from devstack.manifests.findings import Finding, format_path, merged


@pytest.mark.parametrize(("parts", "text"), [
    pytest.param(["spec", "triggers", 0, "template", "http", "url"],
                 "spec.triggers[0].template.http.url", id="keys-and-index"),
    pytest.param(["metadata", "labels", "strimzi.io/cluster"],
                 'metadata.labels["strimzi.io/cluster"]', id="key-with-dots-and-slash"),
    pytest.param(["spec", "kafka", "orders-raw"], "spec.kafka.orders-raw", id="dashed-key"),
    pytest.param([0, "name"], "[0].name", id="leading-index"),
    pytest.param(["a b"], '["a b"]', id="leading-bracketed-key"),
    pytest.param([], "", id="document-root"),
])
def test_format_path(parts, text):
    assert format_path(parts) == text


def test_specific_rule_supersedes_generic_ones_at_the_same_path():
    specific = Finding("s.yaml", 0, "spec.x", "must not be empty")
    generic = [Finding("s.yaml", 0, "spec.x", "unknown field (not in the Argo Events schema)"),
               Finding("s.yaml", 0, "spec.x", "schema: is required")]
    elsewhere = Finding("s.yaml", 1, "spec.x", "schema: is required")
    assert merged([elsewhere, *generic, specific, specific]) == (specific, elsewhere)


def test_finding_prints_file_index_path_rule():
    assert str(Finding("a.yaml", 2, "", "does not load")) == "a.yaml[2] <document>: does not load"
