"""A workflow named on a command line: a file, else ``workflows/<name>.yaml`` of the repository
(the one rule of ``audit``, ``replay``, ``try``, ``workflow apply`` and ``dlq``)."""
from __future__ import annotations

import pathlib

from etlkit.workflow import Workflow, load_workflow

REPO = pathlib.Path(__file__).resolve().parent.parent


class NoWorkflowFile(ValueError):
    """Neither a file nor a workflow of workflows/ by that name."""


def workflow_path(text: str) -> pathlib.Path:
    path = pathlib.Path(text)
    if not path.is_file():
        path = REPO / "workflows" / f"{text}.yaml"
    if not path.is_file():
        raise NoWorkflowFile(f"{text}: no such workflow file, nor workflows/{text}.yaml")
    return path


def workflow_file(text: str) -> Workflow:
    """The validated workflow; :class:`etlkit.workflow.WorkflowInvalid` lists every error."""
    return load_workflow(workflow_path(text))
