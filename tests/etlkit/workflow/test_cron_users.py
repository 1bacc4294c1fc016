"""The workflow API, the manifest validator and the local Argo runner refuse the same cron schedules
with the same message, because all three call :mod:`etlkit.cron` (issue 17 item 8: the API used to
accept ``60 * * * *``, which the validator and Argo refuse)."""
from __future__ import annotations

import pytest

from devstack.argo.manifests import load_manifests
from devstack.argo.yamlnode import ManifestError
from devstack.manifests.argo_rules import calendar_source_problems
from etlkit.cron import cron_problem
from etlkit.workflow.errors import WorkflowInvalid
from etlkit.workflow.parse import parse_workflow
from tests.devstack.argo import factory

REFUSED = [
    pytest.param("60 * * * *", id="minute-60-the-old-disagreement"),
    pytest.param("* * * * 7", id="sunday-as-7"),
    pytest.param("0 */5 * * * *", id="seconds-field"),
    pytest.param("* * * FOO *", id="unknown-month-name"),
    pytest.param("30-10 * * * *", id="reversed-range"),
    pytest.param("*/0 * * * *", id="zero-step"),
]
# robfig accepts these; the old validator refused the first two and the old workflow regex the last.
ACCEPTED = [
    pytest.param("? * * * *", id="question-mark-in-minutes"),
    pytest.param("1,,2 * * * *", id="empty-list-item"),
    pytest.param("+5 * * * *", id="plus-sign"),
]


def _workflow_errors(make_doc, structural, schedule: str) -> list[str]:
    try:
        parse_workflow(make_doc(scaling={"schedule": schedule}), validator=structural)
    except WorkflowInvalid as exc:
        return [str(e) for e in exc.errors]
    return []


def _runner_error(tmp_path, schedule: str) -> str | None:
    try:
        load_manifests(factory.write(tmp_path, factory.calendar_eventsource("ticks", "tick", schedule=schedule)))
    except ManifestError as exc:
        return str(exc)
    return None


@pytest.mark.parametrize("schedule", REFUSED)
def test_every_user_refuses_with_the_one_message(make_doc, structural, tmp_path, schedule):
    problem = cron_problem(schedule)
    assert problem
    assert _workflow_errors(make_doc, structural, schedule) == [f"scaling.schedule: {problem}"]
    assert list(calendar_source_problems({"schedule": schedule, "timezone": "UTC"})) == [(["schedule"], problem)]
    runner = _runner_error(tmp_path, schedule)
    assert runner is not None and "spec.calendar.tick.schedule" in runner and problem in runner


@pytest.mark.parametrize("schedule", ACCEPTED)
def test_every_user_accepts_what_argo_accepts(make_doc, structural, tmp_path, schedule):
    assert _workflow_errors(make_doc, structural, schedule) == []
    assert list(calendar_source_problems({"schedule": schedule, "timezone": "UTC"})) == []
    assert _runner_error(tmp_path, schedule) is None
