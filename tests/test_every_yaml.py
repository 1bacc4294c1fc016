"""Every YAML file of the repository loads and passes the validator of its kind.

Files are found the way git sees the repository (tracked plus untracked-but-not-ignored, without
.venv, build and .run), so a manifest someone adds is checked without touching this test:
Argo Events documents against the official schema, unknown fields and the controller's rules;
built-in Kubernetes kinds with the pinned strict schemas; Strimzi resources structurally;
stack.yml against faas-cli's rules; references between all of them. workflows/*.yaml only have
to load here (their own tests validate them); any other YAML only has to load.
"""
from __future__ import annotations

import pathlib

import pytest
import yaml

from devstack.manifests import Family, Finding, Report, discover, load_file, validate_paths

REPO = pathlib.Path(__file__).resolve().parent.parent
FILES = [path.relative_to(REPO).as_posix() for path in discover(REPO)]

# Findings already reported to their owners, each with its reason. A file whose findings are all
# listed here is an expected failure (xfail, its findings in the reason), never a pass; any other
# finding fails. Remove an entry once its owner has fixed it; the file then simply passes.
PENDING: dict[tuple[str, str], str] = {
    ("dlqTrigger.template.kafka.payload[0].dest", "must not be empty"):
        "Argo Events rejects an empty dest in a Kafka trigger's payload (validateTriggerParameter "
        "in pkg/reconciler/sensor/validate.go; only HTTP payloads may leave it empty): the "
        "workflow renderer must name a dest (renderer)",
}


def pending_reason(finding: Finding) -> str | None:
    """Why a finding is known and waiting for its owner, or None when it is new."""
    for (path_end, rule), reason in PENDING.items():
        if finding.path.endswith(path_end) and rule in finding.rule:
            return reason
    return None


@pytest.fixture(scope="module")
def report() -> Report:
    """One validation of the whole repository, shared by every file's test."""
    return validate_paths(repo_root=REPO)


def test_the_repository_has_manifests():
    """Discovery works: at least the deployment manifests under k8s/ are found."""
    assert any(name.startswith("k8s/") for name in FILES)


@pytest.mark.parametrize("relative", FILES)
def test_yaml_file_loads_and_validates(relative: str, report: Report):
    text = (REPO / relative).read_text(encoding="utf-8")
    list(yaml.safe_load_all(text))  # loads, or the test fails with the parser's message
    findings = report.for_file(relative)
    new = [f for f in findings if pending_reason(f) is None]
    assert not new, "\n" + "\n".join(map(str, new))
    if findings:
        reasons = sorted({pending_reason(f) for f in findings})
        pytest.xfail("; ".join(reasons) + "\n" + "\n".join(map(str, findings)))
    families = {doc.family for doc in load_file(REPO / relative, REPO)[0]}
    if Family.ARGO in families and report.skipped:
        pytest.skip("; ".join(report.skipped))
