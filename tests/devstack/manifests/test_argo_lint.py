"""The real Argo Events linter on every EventSource and Sensor we commit or can render.

``argo-events lint --strict -R DIR`` (v1.9.11, ``cmd/commands/lint.go``, built by ``make tools``)
runs the controllers' own ``ValidateEventSource`` / ``ValidateSensor`` on each ``*.yaml`` /
``*.yml`` below DIR and prints one line per EventSource or Sensor document on standard output:
``✓ FILE: EventSource is valid``, ``✓ FILE: Sensor is valid``, ``✗ FILE: ... validation failed``
or ``! FILE: Sensor validation incomplete ...`` (a warning), FILE with `` (document N)`` in a
file of several documents. A file it cannot read goes to standard error. It exits 1 on an error,
and with ``--strict`` on a warning too. A document it cannot decode as YAML, or of another kind,
is skipped without a word: so each test counts the valid lines against the EventSources and
Sensors it parsed itself, and a lint that read nothing fails.

One lint process per folder. Without the binary the tests skip, unless ``CI`` is set: then they
fail naming what is missing.
"""
from __future__ import annotations

import collections
import copy
import os
import pathlib
import re
import subprocess

import pytest
import yaml

from devstack import realtools
from etlkit.workflow.parse import load_workflow
from etlkit.workflow.render import FILE_VERSION, render_workflow

REPO = pathlib.Path(__file__).resolve().parents[3]
WORKFLOWS = sorted((REPO / "workflows").glob("*.yaml"))
LINT_TIMEOUT_S = 60
LINTED_KINDS = ("EventSource", "Sensor")
_VALID = re.compile(r"^✓ (?P<file>.+?)(?: \(document \d+\))?: (?P<kind>EventSource|Sensor) is valid$")


@pytest.fixture(scope="module")
def argo_events() -> pathlib.Path:
    try:
        return realtools.argo_events()
    except realtools.ToolMissing as exc:
        if os.environ.get("CI"):
            pytest.fail(f"CI is set and the real Argo Events binary is missing: {exc}")
        pytest.skip(f"real Argo Events binary missing: {exc}")


def _lint(binary: pathlib.Path, root: pathlib.Path, folder: str) -> subprocess.CompletedProcess:
    """``argo-events lint --strict -R folder`` run in ``root``, so lines name paths below it."""
    return subprocess.run([str(binary), "lint", "--strict", "-R", folder], cwd=root,
                          capture_output=True, text=True, timeout=LINT_TIMEOUT_S, check=False)


def _expected(root: pathlib.Path, folder: str) -> collections.Counter:
    """(file, kind) of every EventSource and Sensor document below ``root/folder``, as parsed
    here: what the lint has to report valid, once each."""
    found: collections.Counter = collections.Counter()
    for path in sorted((root / folder).rglob("*")):
        if path.suffix.lower() not in (".yaml", ".yml") or not path.is_file():
            continue
        for doc in yaml.safe_load_all(path.read_text(encoding="utf-8")):
            if isinstance(doc, dict) and doc.get("kind") in LINTED_KINDS:
                found[(path.relative_to(root).as_posix(), doc["kind"])] += 1
    return found


def _assert_all_valid(result: subprocess.CompletedProcess, expected: collections.Counter) -> None:
    output = f"exit {result.returncode}\nstdout:\n{result.stdout}\nstderr:\n{result.stderr}"
    assert result.returncode == 0, output
    assert result.stderr == "", output
    lines = result.stdout.splitlines()
    assert not [line for line in lines if line.startswith("!")], "warnings:\n" + output
    assert not [line for line in lines if not _VALID.match(line)], "not all valid:\n" + output
    reported = collections.Counter((m["file"], m["kind"]) for m in map(_VALID.match, lines))
    assert sum(expected.values()) > 0, "nothing to lint: the folder has no EventSource or Sensor"
    assert reported == expected, output


def test_every_committed_manifest_passes_the_strict_lint(argo_events):
    result = _lint(argo_events, REPO, "argo-events")
    _assert_all_valid(result, _expected(REPO, "argo-events"))


@pytest.mark.parametrize("workflow", [pytest.param(p, id=p.stem) for p in WORKFLOWS])
def test_every_manifest_rendered_from_an_example_workflow_passes_the_strict_lint(
        argo_events, tmp_path, workflow):
    rendered = render_workflow(load_workflow(workflow), FILE_VERSION, source=f"workflows/{workflow.name}")
    for f in rendered:
        target = tmp_path / f.path
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(f.text, encoding="utf-8")
    result = _lint(argo_events, tmp_path, "argo-events")
    _assert_all_valid(result, _expected(tmp_path, "argo-events"))


def test_the_example_workflows_are_there():
    assert {p.stem for p in WORKFLOWS} >= {"orders", "host-metrics"}


def _duplicate_trigger(sensor: dict) -> None:
    sensor["spec"]["triggers"].append(copy.deepcopy(sensor["spec"]["triggers"][0]))


def _fetch_method(sensor: dict) -> None:
    sensor["spec"]["triggers"][0]["template"]["http"]["method"] = "FETCH"


@pytest.mark.parametrize("break_sensor,message", [
    pytest.param(_duplicate_trigger, "duplicate trigger name: normalise-0", id="two-triggers-one-name"),
    pytest.param(_fetch_method, "template normalise-0 is invalid, only GET, DELETE, PATCH, POST and PUT "
                 "methods are supported", id="http-method-fetch"),
])
def test_a_broken_sensor_fails_the_lint_naming_why(argo_events, tmp_path, break_sensor, message):
    sensor = yaml.safe_load((REPO / "argo-events/sensors/orders-normalise.yaml").read_text(encoding="utf-8"))
    break_sensor(sensor)
    (tmp_path / "argo-events").mkdir()
    (tmp_path / "argo-events/orders-normalise.yaml").write_text(yaml.safe_dump(sensor), encoding="utf-8")
    result = _lint(argo_events, tmp_path, "argo-events")
    assert result.returncode == 1, result.stdout + result.stderr
    assert result.stdout.splitlines() == [
        "✗ argo-events/orders-normalise.yaml: Sensor validation failed", f"  Error: {message}"]
