"""Hostile input, shared by the property tests: text that looks like SQL, templates, code and
escapes, JSON of any shape, bytes of any kind."""
from hypothesis import strategies as st

# Pieces that break naive code: quoting, template and shell syntax, escapes, control characters,
# bidi overrides, surrogates' neighbours, lookalikes of language keywords.
HOSTILE = ["'", '"', "`", "\\", "{{", "}}", "{%", "%}", "{#", "${", "$(", ")", "<", ">", ";",
           "--", "/*", "*/", "%s", "%n", "\x00", "\n", "\r\n", "\t", "\u202e", "\ufeff", "\U0001F600",
           "__class__", "__import__('os')", "eval(", "exec(", "lambda", "os.system", ".Input",
           "toJson", "DROP TABLE t", "' OR '1'='1", "1e309", "-0", "NaN", "null", "true",
           "a.b[0]", "$key", "in", "not", "and", "or", "=", "==", "!", "&&", "||", "**"]

hostile_text = st.one_of(
    st.text(max_size=40),
    st.lists(st.sampled_from(HOSTILE) | st.text(max_size=3), max_size=12).map("".join),
)

json_scalars = st.one_of(st.none(), st.booleans(), st.integers(), st.floats(allow_nan=False),
                         hostile_text)
json_values = st.recursive(
    json_scalars,
    lambda children: st.one_of(st.lists(children, max_size=5),
                               st.dictionaries(hostile_text, children, max_size=5)),
    max_leaves=25)
json_records = st.dictionaries(hostile_text, json_values, max_size=6)
