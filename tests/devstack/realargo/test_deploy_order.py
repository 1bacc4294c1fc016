"""Every written way to deploy applies the EventBus, then the Sensors (waiting for their
consumers), then the EventSources: `make deploy`, k8s/README.md and README.md.

Why (shown on the real binaries in test_defects.py, section 3): a Sensor's consumer starts at new
events, so an EventSource applied first hands its topic's records to nobody. ``kubectl apply -R``
walks a folder in name order, event-sources/ first, so it must never be given argo-events/.
"""
from __future__ import annotations

import re

import pytest


def _deploy_recipe(makefile: str) -> list[str]:
    match = re.search(r"^deploy:.*\n((?:\t.*\n)+)", makefile, re.M)
    assert match, "no deploy target"
    return match.group(1).splitlines()


def _positions(lines: list[str], *needles: str) -> list[int]:
    out = []
    for needle in needles:
        found = [i for i, line in enumerate(lines) if needle in line]
        assert found, f"never: {needle}"
        out.append(found[0])
    return out


def _k8s_readme_block(text: str) -> list[str]:
    section = text.split("## Apply order", 1)[1]
    return section.split("```sh", 1)[1].split("```", 1)[0].splitlines()


@pytest.mark.parametrize("where", ["Makefile", "k8s/README.md"])
def test_eventbus_then_sensors_then_their_consumers_then_event_sources(repo_root, where):
    text = (repo_root / where).read_text()
    lines = _deploy_recipe(text) if where == "Makefile" else _k8s_readme_block(text)
    steps = _positions(lines, "apply -f argo-events/eventbus/", "apply -f argo-events/sensors/",
                       "devstack.realargo.subscribed argo-events/sensors", "apply -f argo-events/event-sources/")
    assert steps == sorted(steps), f"{where}: {steps}"
    functions = _positions(lines, "stack.yml")[0]
    assert functions < steps[1], f"{where}: the functions the Sensors call come first"


WHOLE_FOLDER = re.compile(r"kubectl apply\b.*\bargo-events/?(\s|$)")


@pytest.mark.parametrize("where", ["Makefile", "k8s/README.md"])
def test_no_command_applies_the_wiring_folder_as_a_whole(repo_root, where):
    text = (repo_root / where).read_text()
    lines = _deploy_recipe(text) if where == "Makefile" else _k8s_readme_block(text)
    assert [line for line in lines if WHOLE_FOLDER.search(line)] == []


def test_the_readme_sends_a_cluster_deployment_to_make_deploy(repo_root):
    section = (repo_root / "README.md").read_text().split("## Deploying to a cluster", 1)[1].split("\n## ", 1)[0]
    assert "`make deploy`" in section and "k8s/README.md" in section
