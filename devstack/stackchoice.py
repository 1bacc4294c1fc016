"""Which stack a run stands on: the real components or the Python stand-ins.

``faas-etl run`` asks for one of three modes: ``real`` (``--real``), ``stand-in``
(``--stand-in``) or ``auto`` (neither flag, what ``make run`` uses): the real components when
every one of them is here (:func:`devstack.realtools.real_parts_missing` is empty), else the
stand-ins. :func:`choose_stack` decides from the mode and those reasons alone (pure, so the
table of cases is tested without a machine of each kind); the caller gathers the reasons and
acts on the choice. :func:`pinned_versions` reads the versions the summary names from the pins
`make tools` builds from.
"""
from __future__ import annotations

import pathlib
import re
from dataclasses import dataclass
from typing import Mapping, Sequence

AUTO, REAL, STAND_IN = "auto", "real", "stand-in"
MODES = (AUTO, REAL, STAND_IN)
STAND_IN_PARTS = "Tansu, local Argo runner"
REPO = pathlib.Path(__file__).resolve().parent.parent


@dataclass(frozen=True)
class StackChoice:
    """``kind``: ``real`` or ``stand-in``; ``runnable``: False only when ``--real`` was asked for
    and parts are missing (the run must not start); ``message``: the one line that says which
    stack and why (or, not runnable, what is missing)."""

    kind: str
    runnable: bool
    message: str
    missing: tuple[str, ...] = ()


def choose_stack(mode: str, missing: Sequence[str]) -> StackChoice:
    """The stack for ``mode`` given why the real parts cannot run here (``missing``; empty: they can).

    >>> choose_stack("auto", ["no `java` on PATH"]).message
    'real parts unavailable: no `java` on PATH; running on the stand-ins'
    """
    if mode not in MODES:
        raise ValueError(f"mode: {mode!r} is not one of {', '.join(MODES)}")
    missing = tuple(missing)
    if mode == STAND_IN:
        return StackChoice(STAND_IN, True, "running on the stand-ins (--stand-in)", missing)
    if not missing:
        why = "--real" if mode == REAL else "every real part is here"
        return StackChoice(REAL, True, f"running on the real components ({why})")
    listed = "; ".join(missing)
    if mode == REAL:
        return StackChoice(REAL, False, f"--real: real parts missing: {listed}", missing)
    return StackChoice(STAND_IN, True, f"real parts unavailable: {listed}; running on the stand-ins", missing)


def describe_stack(kind: str, versions: Mapping[str, str]) -> str:
    """The summary's ``stack:`` line (after the colon)."""
    if kind == REAL:
        return (f"real components (Apache Kafka {versions.get('kafka', '?')}, Argo Events "
                f"{versions.get('argo-events', '?')} on nats-server {versions.get('nats-server', '?')})")
    return f"stand-ins ({STAND_IN_PARTS})"


def stack_versions(kind: str) -> dict[str, str]:
    """The versions a stack of ``kind`` names: the real one's pins, none for the stand-ins."""
    return pinned_versions() if kind == REAL else {}


def stack_name(kind: str) -> str:
    """The ``stack:`` line of a stack of ``kind`` on this checkout."""
    return describe_stack(kind, stack_versions(kind))


def pinned_versions(root: pathlib.Path = REPO) -> dict[str, str]:
    """The versions `make tools` builds: Argo Events and nats-server from their ``go.mod``,
    Apache Kafka from ``tools/kafka/pom.xml``; a pin that cannot be read is left out."""
    pins = {"argo-events": (root / "tools/go/argo-events/go.mod", r"^require github\.com/argoproj/argo-events (v\S+)"),
            "nats-server": (root / "tools/go/nats-server/go.mod", r"^require github\.com/nats-io/nats-server/v2 v(\S+)"),
            "kafka": (root / "tools/kafka/pom.xml", r"<kafka\.version>([^<]+)</kafka\.version>")}
    out = {}
    for name, (path, pattern) in pins.items():
        try:
            found = re.search(pattern, path.read_text(encoding="utf-8"), re.MULTILINE)
        except OSError:
            continue
        if found:
            out[name] = found.group(1)
    return out
