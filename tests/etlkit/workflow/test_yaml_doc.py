"""The workflow YAML loader costs no more than the document's size, and every refusal is a
field error: forbidden characters, alias bombs, nesting beyond the parser's stack."""
import pytest

from etlkit.workflow import WorkflowInvalid, parse_workflow
from etlkit.workflow.yaml_doc import ROOT, load_yaml


def test_a_character_yaml_forbids_is_a_field_error_not_a_crash():
    data, errors = load_yaml("name: a\x1fb\n")
    assert data is None
    assert [(e.path, e.rule) for e in errors] == [
        (ROOT, "not valid YAML at character 7: character #x001f is not allowed")]
    with pytest.raises(WorkflowInvalid, match="character #x0007 is not allowed"):
        parse_workflow("\x07")


def test_an_alias_bomb_is_refused_without_expanding_it():
    lines = ["a0: &a0 [x, x, x, x, x, x, x, x, x]"]
    lines += [f"a{i}: &a{i} [" + ", ".join([f"*a{i - 1}"] * 9) + "]" for i in range(1, 10)]
    _data, errors = load_yaml("\n".join(lines))
    assert errors and all(e.rule.startswith("aliases (*name) of a mapping or list are not supported")
                          for e in errors)
    assert errors[0].path == "a1[0]"  # a0's list was read at a0 already
    assert len(errors) == 9 * 9  # each alias written is reported once, none of them expanded


def test_an_alias_of_a_scalar_still_works():
    data, errors = load_yaml("a: &x 5\nb: *x\n")
    assert (data, errors) == ({"a": 5, "b": 5}, [])


def test_nesting_deeper_than_the_parser_is_a_field_error():
    data, errors = load_yaml("a: " + "[" * 5000 + "]" * 5000)
    assert data is None and [(e.path, e.rule) for e in errors] == [(ROOT, "nested too deeply")]


def test_an_empty_source_entry_names_the_missing_kind():
    with pytest.raises(WorkflowInvalid) as raised:
        parse_workflow({"name": "w", "sources": [None], "sink": {"table": "t", "key": "k"},
                        "topics": {"a": {}}, "dead_letter": "a"})
    assert any(str(e).startswith("sources[0].kind: required") for e in raised.value.errors)


def test_a_duplicate_empty_key_still_has_a_path():
    _data, errors = load_yaml("? \n? \n")
    assert [(e.path, e.rule) for e in errors] == [(ROOT, "duplicate key (line 2; first at line 1)")]
