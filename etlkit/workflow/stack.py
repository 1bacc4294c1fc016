"""The stack.yml ``functions`` entries a workflow needs, as data the lead's stack file is merged with.

Only what the workflow decides is here: which functions run, their handler folders, the replica
bounds its scaling section sets, the secrets its URL references name. ``lang``, ``image``,
environment and resources belong to the base stack.yml. Functions are shared by every workflow
(one per step kind, docs/contracts.md), so :func:`merge_stack_functions` combines fragments: each
function gets the highest floor and the highest ceiling any workflow asks for, and every secret
any of them names.
"""
from __future__ import annotations

from typing import Any, Iterable, Mapping

from .model import AUTOSCALER_FUNCTION, Workflow

SCALE_MIN = "com.openfaas.scale.min"
SCALE_MAX = "com.openfaas.scale.max"
# "0" switches OpenFaaS CE's alert-driven scaling off for a function the autoscaler sizes: the
# gateway refuses a factor outside 1..100 when it reads the function (openfaas/faas 0.27.14
# gateway/plugin/external.go GetReplicas), and its alert handler then leaves the count alone
# (gateway/handlers/alerthandler.go scaleService). It needs the gateway installed with
# scaleFromZero=false (k8s/README.md): with it on, calls to the function answer 404.
SCALE_FACTOR = "com.openfaas.scale.factor"
ALERT_SCALING_OFF = "0"
ROLE = "faas-etl.dev/role"
# Handler folders from docs/contracts.md: every function under functions/, the controller apart.
HANDLERS = {AUTOSCALER_FUNCTION: "./controller-fn"}


def _handler(function: str) -> str:
    return HANDLERS.get(function, f"./functions/{function}")


def _secret(reference: str | None) -> list[str]:
    """``secret:warehouse-url`` names a secret file the function must mount; ``env:...`` none."""
    return [reference.removeprefix("secret:")] if reference and reference.startswith("secret:") else []


def _entry(function: str, role: str, secrets: Iterable[str] = (), bounds: tuple[int, int] | None = None) -> dict[str, Any]:
    labels = {ROLE: role}
    if bounds is not None:
        labels.update({SCALE_MIN: str(bounds[0]), SCALE_MAX: str(bounds[1]),
                       SCALE_FACTOR: ALERT_SCALING_OFF})
    entry: dict[str, Any] = {"handler": _handler(function), "labels": labels}
    if secrets:
        entry["secrets"] = sorted(set(secrets))
    return entry


def stack_functions(workflow: Workflow) -> dict[str, dict[str, Any]]:
    """``{function: {handler, labels, [secrets]}}`` for every function ``workflow`` calls, sorted by name."""
    fragments = [{s.function: _entry(s.function, "source", _secret(getattr(s, "url", None)))} for s in workflow.sources]
    for bounds in workflow.scaling.bounds:
        role = "sink" if bounds.function == workflow.sink.function else "step"
        secrets = _secret(workflow.sink.url) if role == "sink" else []
        fragments.append({bounds.function: _entry(bounds.function, role, secrets, (bounds.min_replicas, bounds.max_replicas))})
    fragments.append({AUTOSCALER_FUNCTION: _entry(AUTOSCALER_FUNCTION, "controller")})
    return merge_stack_functions(fragments)


def merge_stack_functions(fragments: Iterable[Mapping[str, Mapping[str, Any]]]) -> dict[str, dict[str, Any]]:
    """One entry per function: the highest replica floor and ceiling, the union of secrets; sorted by name."""
    merged: dict[str, dict[str, Any]] = {}
    for fragment in fragments:
        for function, entry in fragment.items():
            if function not in merged:
                merged[function] = {**entry, "labels": dict(entry["labels"])}
                continue
            into = merged[function]
            # Every workflow's floor must hold, and the busiest may use its whole ceiling.
            for label in (SCALE_MIN, SCALE_MAX):
                values = [int(e["labels"][label]) for e in (into, entry) if label in e["labels"]]
                if values:
                    into["labels"][label] = str(max(values))
            secrets = set(into.get("secrets", ())) | set(entry.get("secrets", ()))
            if secrets:
                into["secrets"] = sorted(secrets)
    return dict(sorted(merged.items()))
