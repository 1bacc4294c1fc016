"""Which stack `faas-etl run` stands on: the mode and the missing parts decide, nothing else."""
import pytest

from devstack.stackchoice import REAL, STAND_IN, StackChoice, choose_stack, describe_stack, pinned_versions

NO_GO = "/x/bin/argo-events is missing: run `make tools` (needs Go)"
NO_ROOT = "pod networks need root (ip netns add)"


@pytest.mark.parametrize("mode, missing, expected", [
    # `make run` on a machine with every part: the real ones, and it says so.
    ("auto", [], StackChoice(REAL, True, "running on the real components (every real part is here)")),
    # `make run` on a laptop: the stand-ins, and every reason why, in the order found.
    ("auto", [NO_GO, NO_ROOT], StackChoice(
        STAND_IN, True, f"real parts unavailable: {NO_GO}; {NO_ROOT}; running on the stand-ins",
        (NO_GO, NO_ROOT))),
    ("real", [], StackChoice(REAL, True, "running on the real components (--real)")),
    # --real where a part is missing: not runnable, the message names what is missing.
    ("real", [NO_ROOT], StackChoice(REAL, False, f"--real: real parts missing: {NO_ROOT}", (NO_ROOT,))),
    ("stand-in", [], StackChoice(STAND_IN, True, "running on the stand-ins (--stand-in)")),
    ("stand-in", [NO_GO], StackChoice(STAND_IN, True, "running on the stand-ins (--stand-in)", (NO_GO,))),
], ids=["auto-all-here", "auto-laptop", "real-all-here", "real-missing-refused", "stand-in-all-here",
        "stand-in-laptop"])
def test_choose_stack(mode, missing, expected):
    assert choose_stack(mode, missing) == expected


def test_an_unknown_mode_is_refused_by_name():
    with pytest.raises(ValueError, match="'docker' is not one of auto, real, stand-in"):
        choose_stack("docker", [])


def test_the_stack_line_names_the_pinned_versions():
    """The versions come from the pins `make tools` builds from (the README's table)."""
    versions = pinned_versions()
    assert versions == {"argo-events": "v1.9.11", "nats-server": "2.10.29", "kafka": "4.1.1"}
    assert describe_stack(REAL, versions) == \
        "real components (Apache Kafka 4.1.1, Argo Events v1.9.11 on nats-server 2.10.29)"
    assert describe_stack(STAND_IN, versions) == "stand-ins (Tansu, local Argo runner)"


def test_an_unreadable_pin_is_left_out(tmp_path):
    assert pinned_versions(tmp_path) == {}
    assert describe_stack(REAL, {}) == "real components (Apache Kafka ?, Argo Events ? on nats-server ?)"
