"""Hypothesis strategies shared by the etlkit tests."""
from hypothesis import strategies as st

# Any value JSON can carry: integers past 64 bits, every finite float, any text (lone surrogates
# included), nesting a few levels deep.
json_values = st.recursive(
    st.none() | st.booleans() | st.integers(-2**80, 2**80)
    | st.floats(allow_nan=False, allow_infinity=False) | st.text(),
    lambda children: st.lists(children, max_size=4) | st.dictionaries(st.text(), children, max_size=4),
    max_leaves=20)
