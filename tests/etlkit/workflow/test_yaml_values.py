"""Values inserted into YAML text read back as exactly themselves, whatever they contain."""
from __future__ import annotations

import pytest
import yaml
from hypothesis import given, settings
from hypothesis import strategies as st

from etlkit.workflow.yaml_values import to_comment, to_single_quoted, to_yaml_value

# Any text Python can encode: every code point except lone surrogates (not valid UTF-8 at all).
TEXT = st.text(st.characters(blacklist_categories=("Cs",)))
JSON_LIKE = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False, allow_infinity=False) | TEXT,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(TEXT, inner, max_size=4),
    max_leaves=12,
)


def _reload(line_value: str) -> object:
    """Put the value where a template would and parse the document back."""
    document = f"# before\nkey: {line_value}\nafter: 1\n"
    loaded = yaml.safe_load(document)
    assert set(loaded) == {"key", "after"}, "the value changed the document's structure"
    return loaded["key"]


@settings(max_examples=300, deadline=None)
@given(JSON_LIKE)
def test_any_json_value_round_trips(value):
    assert _reload(to_yaml_value(value)) == value


@settings(max_examples=200, deadline=None)
@given(st.text(st.characters(min_codepoint=0x20, max_codepoint=0x7E)))
def test_printable_ascii_round_trips_single_quoted(text):
    assert _reload(to_single_quoted(text)) == text


@pytest.mark.parametrize("text", ["a\nb", "caf\u00e9", "tab\there"], ids=["newline", "non-ascii", "tab"])
def test_single_quoted_refuses_what_it_cannot_hold(text):
    with pytest.raises(ValueError, match="printable ASCII"):
        to_single_quoted(text)


@settings(max_examples=200, deadline=None)
@given(TEXT)
def test_comment_stays_on_one_line(text):
    loaded = yaml.safe_load(f"a: 1 # {to_comment(text)}\nb: 2\n")
    assert loaded == {"a": 1, "b": 2}
