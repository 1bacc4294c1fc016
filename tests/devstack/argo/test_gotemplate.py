"""The dataTemplate subset: Go's text/template output, and refusal of everything else."""
from datetime import datetime, timezone

import pytest

from devstack.argo.gotemplate import TemplateError, parse

NOW = datetime(2026, 11, 21, 10, 0, 0, 123000, tzinfo=timezone.utc)
DATA = {"topic": "t", "key": "k", "partition": 0.0, "body": {"b": 2.0, "a": "<x>", "n": None},
        "headers": {}}


@pytest.mark.parametrize("source, expected", [
    ('{"event": {{ toJson .Input }}}',
     '{"event": {"body":{"a":"\\u003cx\\u003e","b":2,"n":null},"headers":{},"key":"k","partition":0,"topic":"t"}}'),
    ("{{ toRawJson .Input.body }}", '{"a":"<x>","b":2,"n":null}'),
    ("{{ (now).UnixMilli }}", "1795255200123"),
    ("{{ toJson now }}", '"2026-11-21T10:00:00.123Z"'),
    ("{{ now | unixEpoch }}", "1795255200"),
    ("{{ .Input.key }}|{{ .Input.nope }}|{{ .Input.body.n }}", "k|<no value>|<no value>"),  # as Argo (test_conformance)
    ("{{ toJson .Input.nope }}", "null"),
    ("{{ .Input.key | upper | quote }}", '"K"'),
    ('{{ default "d" .Input.nope }}', "d"),
    ("a {{- .Input.key -}} b", "akb"),
    ("{{/* note */}}{{ .Input.partition }}", "0"),
    ("{{ 1000000.0 }}", "1e+06"),
    ('{{ "\\u00e9\\n" }}', "é\n"),
], ids=["toJson-sorted-html-escaped", "toRawJson", "now-method", "time-as-json", "unixEpoch", "missing-is-no-value",
        "toJson-missing-is-null", "pipeline", "default", "trim-markers", "comment", "float-print",
        "string-escapes"])
def test_execute_matches_go(source, expected):
    assert parse(source).execute(DATA, NOW) == expected


@pytest.mark.parametrize("source, reason", [
    ("{{ if .Input }}x{{ end }}", "'if' is not supported"),
    ("{{ $x := 1 }}", "variables"),
    ('{{ printf "%s" .Input }}', "'printf' is not supported"),
    ("{{ sha256sum .Input }}", "function 'sha256sum'"),
    ("{{ .Input", "unclosed action"),
    ("{{ .Input.a .Input.b }}", "non-function"),
    ("{{ now 1 }}", "takes no arguments"),
], ids=["if", "variable", "printf", "unknown-sprig", "unclosed", "argument-to-field", "now-with-args"])
def test_unsupported_templates_are_refused_at_parse(source, reason):
    with pytest.raises(TemplateError, match=reason):
        parse(source)


@pytest.mark.parametrize("source, reason", [
    ("{{ .Input.nope.x }}", "nil pointer"),
    ("{{ .Input.key.x }}", "can't evaluate field x"),
    ("{{ upper .Input.partition }}", "expected string"),
], ids=["field-of-missing", "field-of-string", "wrong-argument-type"])
def test_execution_errors_are_template_errors(source, reason):
    with pytest.raises(TemplateError, match=reason):
        parse(source).execute(DATA, NOW)


def test_json_numbers_behave_as_go_float64_whether_int_or_float():
    data = {"million": 1000000, "big": 2 ** 60, "two": 2.0, "three": 3}
    assert parse("{{ .Input.million }}").execute(data, NOW) == "1e+06"
    assert parse("{{ toJson .Input }}").execute(data, NOW) == \
        '{"big":1152921504606847000,"million":1000000,"three":3,"two":2}'
