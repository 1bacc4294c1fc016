"""Every workflow a stack runs, however it was started: wired by ``faas-etl up -w FILE``, or run
through the workflow manager's REST API (``POST /workflows/<name>/run``).

``up -w`` knows its workflows' definitions from their files; a run of the workflow manager is
known only to the manager, so its definition is read back from it (``GET /runs``, then
``GET /workflows/<name>?version=N``, the version that runs), as any client would. The dashboard
and ``faas-etl status`` both use :func:`running_workflows`, so a workflow shows whole (steps,
topics, warehouse table) whichever way it was started.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any, MutableMapping, Sequence

from etlkit.controller.errors import EdgeError
from etlkit.controller.gateway import Gateway
from etlkit.workflow import Workflow, WorkflowInvalid, parse_workflow

MANAGER = "/function/workflow-manager"
WIRED = "up -w"
MANAGED = "workflow-manager"
# A run in these states has (or is getting, or is losing) its Sensors: it is shown. "stopped"
# runs are history, not what the stack runs.
SHOWN_STATES = ("starting", "running", "failed", "stopping")


@dataclass(frozen=True)
class RunningWorkflow:
    """A workflow the stack runs; ``started_by`` is :data:`WIRED` or :data:`MANAGED`; ``state``
    the manager's run state (``wired`` for ``up -w``); ``version`` the manager's version."""

    workflow: Workflow
    started_by: str
    state: str
    version: int | None = None

    @property
    def name(self) -> str:
        return self.workflow.name


class ManagerUnreadable(RuntimeError):
    """The workflow manager did not answer as expected; the message says what and why."""


def _json(gateway: Gateway, path: str) -> Any:
    try:
        resp = gateway.request("GET", f"{MANAGER}{path}", edge="workflow-manager")
    except EdgeError as exc:
        raise ManagerUnreadable(exc.detail) from exc
    if resp.status_code != 200:
        raise ManagerUnreadable(f"GET {MANAGER}{path}: HTTP {resp.status_code} {resp.text[:160]}")
    try:
        return resp.json()
    except ValueError as exc:
        raise ManagerUnreadable(f"GET {MANAGER}{path}: not JSON ({exc})") from exc


def manager_runs(gateway: Gateway) -> list[dict[str, Any]]:
    """The manager's runs (``GET /runs``); [] when no workflow manager is deployed (the gateway
    answers 404 for a function it does not serve)."""
    try:
        resp = gateway.request("GET", f"{MANAGER}/runs", edge="workflow-manager")
    except EdgeError as exc:
        raise ManagerUnreadable(exc.detail) from exc
    if resp.status_code == 404:
        return []
    if resp.status_code != 200:
        raise ManagerUnreadable(f"GET {MANAGER}/runs: HTTP {resp.status_code} {resp.text[:160]}")
    return list(resp.json())


def manager_definition(gateway: Gateway, name: str, version: int) -> Workflow:
    """Version ``version`` of ``name`` as the manager stores it (``GET /workflows/<name>?version=``)."""
    stored = _json(gateway, f"/workflows/{name}?version={version}")
    try:
        return parse_workflow(stored["document"])
    except (KeyError, TypeError, WorkflowInvalid) as exc:
        raise ManagerUnreadable(f"workflow {name} version {version}: its definition "
                                f"does not load ({exc})") from exc


def running_workflows(gateway: Gateway | None, wired: Sequence[Workflow],
                      cache: MutableMapping[tuple[str, int], Workflow] | None = None) -> list[RunningWorkflow]:
    """``wired`` (``up -w``) first, then every shown run of the manager (by name), each with its
    definition. A run with a name ``up -w`` wired is listed once, as wired (its runner and topics
    are those of the file). ``cache``: definitions already read, by (name, version), which never
    change (a stored version is immutable). :class:`ManagerUnreadable` when the manager fails."""
    out = [RunningWorkflow(wf, WIRED, "wired") for wf in wired]
    if gateway is None:
        return out
    cache = {} if cache is None else cache
    seen = {wf.name for wf in wired}
    for run in sorted(manager_runs(gateway), key=lambda r: str(r.get("name"))):
        name, version, state = str(run.get("name")), run.get("version"), str(run.get("state"))
        if name in seen or state not in SHOWN_STATES or not isinstance(version, int):
            continue
        if (name, version) not in cache:
            cache[(name, version)] = manager_definition(gateway, name, version)
        out.append(RunningWorkflow(cache[(name, version)], MANAGED, state, version))
    return out
