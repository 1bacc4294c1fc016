"""The two dataTemplate actions the renderer writes, as Go evaluates them, and refusal of the rest."""
from datetime import datetime, timezone

import pytest

from devstack.argo.gotemplate import TemplateError, parse

NOW = datetime(2026, 11, 21, 10, 0, 0, 123000, tzinfo=timezone.utc)
DATA = {"topic": "t", "key": "k", "partition": 0.0, "body": {"b": 2.0, "a": "<x>", "n": None},
        "headers": {}}


@pytest.mark.parametrize("source, expected", [
    ('{"event": {{ toJson .Input }}}',
     '{"event": {"body":{"a":"\\u003cx\\u003e","b":2,"n":null},"headers":{},"key":"k","partition":0,"topic":"t"}}'),
    ("{{toJson .Input}}", '{"body":{"a":"\\u003cx\\u003e","b":2,"n":null},"headers":{},"key":"k","partition":0,"topic":"t"}'),
    ("{{ (now).UnixMilli }}", "1795255200123"),
    ("x }} {\\u007b y", "x }} {\\u007b y"),
], ids=["toJson-sorted-html-escaped", "no-spaces", "now-milliseconds", "text-only"])
def test_execute_matches_go(source, expected):
    assert parse(source).execute(DATA, NOW) == expected


@pytest.mark.parametrize("source", [
    "{{ if .Input }}x{{ end }}", "{{ $x := 1 }}", '{{ printf "%s" .Input }}', "{{ toRawJson .Input }}",
    "{{ toJson .Input.body }}", "{{ .Input.key }}", "{{ .Input | toJson }}", "{{- toJson .Input -}}",
    "{{/* note */}}", "{{ now | unixEpoch }}", "{{ (now).Unix }}", "{{ }}",
], ids=["if", "variable", "printf", "toRawJson", "toJson-of-a-field", "field", "pipeline", "trim-markers",
        "comment", "unixEpoch", "unix-seconds", "empty"])
def test_any_other_action_is_refused_naming_the_two(source):
    with pytest.raises(TemplateError, match=r"not supported by the local runner \(only what "
                                            r"etlkit/workflow/render.py emits: \{\{ toJson .Input \}\}, "
                                            r"\{\{ \(now\).UnixMilli \}\}\)"):
        parse(source)


def test_an_unclosed_action_is_refused():
    with pytest.raises(TemplateError, match="unclosed action"):
        parse('{"event": {{ toJson .Input }')


def test_json_numbers_behave_as_go_float64_whether_int_or_float():
    data = {"million": 1000000, "big": 2 ** 60, "two": 2.0, "three": 3}
    assert parse("{{ toJson .Input }}").execute(data, NOW) == \
        '{"big":1152921504606847000,"million":1000000,"three":3,"two":2}'


def test_what_toJson_cannot_marshal_prints_nothing():
    assert parse("{{ toJson .Input }}").execute({"x": float("nan")}, NOW) == ""
