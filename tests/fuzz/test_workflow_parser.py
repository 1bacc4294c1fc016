"""The workflow parser on anything: a Workflow, or WorkflowInvalid whose every error names a field
and a rule; never another exception, never a hang (alias bombs and deep nesting included)."""
import copy

from hypothesis import given
from hypothesis import strategies as st

from devstack.chaos.workflow import DataPath
from etlkit.workflow import WorkflowInvalid
from etlkit.workflow.parse import parse_workflow

from .budget import bounded, fuzz
from .strategies import hostile_text, json_values

BASE = DataPath("fuzzed").definition()
BASE["steps"].insert(0, {"name": "keep", "kind": "filter", "output": "fuzzed-kept",
                         "condition": "n > 0 and id != 'x'"})
BASE["steps"][1]["output"] = "fuzzed-mapped"
BASE["topics"]["fuzzed-kept"] = {"partitions": 2}


def _outcome(document):
    with bounded():
        try:
            return parse_workflow(document)
        except WorkflowInvalid as exc:
            assert exc.errors
            for error in exc.errors:
                assert error.path and error.rule, error
            return None


def test_the_base_document_is_valid():
    assert _outcome(copy.deepcopy(BASE)) is not None


@fuzz(2)
@given(st.text(max_size=400))
def test_any_text(text):
    _outcome(text)


@fuzz()
@given(st.lists(st.sampled_from(["name: x\n", "steps:\n", "  - ", "{", "}", "[", "]", ": ", "&a ",
                                 "*a ", "!!python/object:os.system ", "<<: *a\n", "? ", "'", '"',
                                 "\n", "  ", "- ", "kind: map\n", "on: yes\n", "null", "~"]),
                max_size=40).map("".join))
def test_yaml_shaped_text(text):
    _outcome(text)


def _paths(doc, prefix=()):
    """Every (path to a container, key) in ``doc``."""
    if isinstance(doc, dict):
        for key, value in doc.items():
            yield prefix, key
            yield from _paths(value, (*prefix, key))
    elif isinstance(doc, list):
        for i, value in enumerate(doc):
            yield prefix, i
            yield from _paths(value, (*prefix, i))


PATHS = list(_paths(BASE))


@fuzz(3)
@given(st.lists(st.tuples(st.sampled_from(PATHS), st.sampled_from(["set", "delete", "add"]),
                          json_values | hostile_text, hostile_text), min_size=1, max_size=4))
def test_mutations_of_a_valid_workflow(mutations):
    doc = copy.deepcopy(BASE)
    for (prefix, key), action, value, new_key in mutations:
        try:
            parent = doc
            for part in prefix:
                parent = parent[part]
            if action == "set":
                parent[key] = value
            elif action == "delete":
                del parent[key]
            elif isinstance(parent, dict):
                parent[new_key] = value
            else:
                parent.append(value)
        except (KeyError, IndexError, TypeError, AttributeError):
            continue  # an earlier mutation removed or replaced the container
    _outcome(doc)


def test_an_alias_bomb_is_refused_quickly():
    lines = ["a0: &a0 [x, x, x, x, x, x, x, x, x]"]
    lines += [f"a{i}: &a{i} [" + ", ".join([f"*a{i - 1}"] * 9) + "]" for i in range(1, 10)]
    text = "\n".join(lines) + "\nname: bomb\n"
    assert _outcome(text) is None


def test_deep_nesting_is_refused_not_a_crash():
    assert _outcome("name: deep\nsteps: " + "[" * 5000 + "]" * 5000 + "\n") is None
    assert _outcome("description: " + "{a: " * 5000 + "1" + "}" * 5000 + "\n") is None
