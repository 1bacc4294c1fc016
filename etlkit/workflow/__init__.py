"""Workflow definitions: the model, its parser/validator, the versioned store and the manifest renderer.

* :func:`parse_workflow` / :func:`load_workflow`: YAML -> frozen :class:`Workflow`, or
  :class:`WorkflowInvalid` naming every field path and rule broken.
* :class:`WorkflowConfigs` over a :class:`WorkflowStore` (:class:`StateDbWorkflowStore`, in the
  state database):
  versioned CRUD with optimistic concurrency.
* :mod:`.invocation`: the trigger payload parameters from which a Sensor builds a function's body.
* :mod:`.stack`: the stack.yml function entries a workflow needs.
* :mod:`.render` (needs jinja2, so import it from its module): ``render_all`` / ``render_workflow``.
"""
from .errors import FieldError, WorkflowInvalid
from .model import Workflow
from .parse import load_workflow, parse_workflow
from .db_store import StateDbWorkflowStore
from .step_hooks import StepValidator
from .store import (
    StaleVersion,
    StoredWorkflow,
    VersionRecord,
    WorkflowConfigs,
    WorkflowExists,
    WorkflowNotFound,
    WorkflowStore,
)

__all__ = [
    "FieldError",
    "StaleVersion",
    "StateDbWorkflowStore",
    "StepValidator",
    "StoredWorkflow",
    "VersionRecord",
    "Workflow",
    "WorkflowConfigs",
    "WorkflowExists",
    "WorkflowInvalid",
    "WorkflowNotFound",
    "WorkflowStore",
    "load_workflow",
    "parse_workflow",
]
