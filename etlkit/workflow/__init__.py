"""Workflow definitions: the model, its parser/validator, the versioned store and the manifest renderer.

``parse_workflow`` / ``load_workflow`` turn YAML into a frozen :class:`Workflow` (or raise
:class:`WorkflowInvalid` naming every field and rule broken). Submodules that need more than the
standard library and PyYAML (the jinja2 renderer) are imported from their own module.
"""
from .errors import FieldError, WorkflowInvalid
from .model import Workflow
from .parse import load_workflow, parse_workflow
from .step_hooks import StepValidator

__all__ = ["FieldError", "StepValidator", "Workflow", "WorkflowInvalid", "load_workflow", "parse_workflow"]
