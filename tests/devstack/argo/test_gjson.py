"""gjson reads over decoded JSON for the paths the renderer writes, and refusal of other syntax."""
import json

import pytest

from devstack.argo import gjson

DATA = {"topic": "orders", "partition": 2, "body": {"id": "o1", "amount": 12.5, "n": 3, "ok": True,
        "none": None, "items": [{"sku": "x"}, {"sku": "y"}, {}], "0": "zero-key"}}


def _get(path):
    return gjson.get(DATA, gjson.parse_get_path(path))


@pytest.mark.parametrize("path, kind, text", [
    ("topic", "String", "orders"),
    ("partition", "Number", "2"),
    ("body.amount", "Number", "12.5"),
    ("body.ok", "True", "true"),
    ("body.none", "Null", ""),
    ("body.items.1.sku", "String", "y"),
    ("body.0", "String", "zero-key"),
    ("body.items", "JSON", '[{"sku":"x"},{"sku":"y"},{}]'),
], ids=["string", "int", "float", "true", "null-is-empty-text", "array-index", "number-is-a-key-of-an-object",
        "array-as-raw-json"])
def test_get_resolves_kind_and_text(path, kind, text):
    found = _get(path)
    assert (found.kind, found.string()) == (kind, text)


@pytest.mark.parametrize("path", ["nope", "body.id.x", "body.items.7"],
                         ids=["missing-key", "key-of-string", "index-past-end"])
def test_get_missing_is_none(path):
    assert _get(path) is None


def test_this_is_the_whole_value_with_the_source_text_as_raw():
    # gjson v1.19 modThis returns the document; Get parses it, so Raw is the text as it stands.
    text = '{"topic":"orders","body":{"n":9223372036854775807,"x":1.000000000000000000000000000001}}'
    source = gjson.Source(lambda: text, json.loads)
    found = gjson.get(json.loads(text), gjson.parse_get_path("@this"), source)
    assert (found.kind, found.raw()) == ("JSON", text)


@pytest.mark.parametrize("path", [
    "a|b", "items.#(sku==x)", "a.@reverse", "body.@this", "a..b", "", "..a", "!true", "body.items.#",
    "body.am*", "body.i?", "body.a\\.b", "a b"],
    ids=["pipe", "query", "modifier-after-a-key", "this-after-a-key", "empty-key", "empty-path", "json-lines",
         "literal", "array-length", "star-wildcard", "question-wildcard", "escaped-dot", "space"])
def test_paths_the_renderer_does_not_write_are_refused(path):
    with pytest.raises(gjson.PathError, match="only what etlkit/workflow/render.py emits: dotted keys"):
        gjson.parse_get_path(path)


@pytest.mark.parametrize("path", ["@reverse", "@this.body", "@this|body", "@pretty", "@this:{}"],
                         ids=["other-modifier", "path-after-this", "pipe-after-this", "pretty", "this-with-argument"])
def test_modifiers_other_than_this_alone_are_refused(path):
    with pytest.raises(gjson.PathError, match="the modifier @this alone"):
        gjson.parse_get_path(path)
