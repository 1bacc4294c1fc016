"""Two committed workflows scaling one function compose one replica count (issue 16, item 7).

Each workflow's autoscaler Sensor sets the replicas of the functions its steps and sink run
(etlkit/workflow/model.py ``scaling_spec``: one operation per step and the sink, by function),
and faas-netes keeps one replica count per function (openfaas/faas-netes 0.18.17
``pkg/handlers/scale.go``: the scale request sets the replicas of the Deployment named after the
function). orders and host-metrics both scale ``filter`` and ``warehouse-loader``; they may keep
sharing, because each tick claims its share and sets the sum of the live claims
(etlkit/controller/sharing.py). Here both committed workflows' scaling specs tick, interleaved,
on OpenFaaS CE's terms (replicas 1..5), over the controller's test doubles with one claim board:
every shared function ends at the sum of the two claims, and neither tick takes the other's
count for a change made outside the controllers.
"""
from __future__ import annotations

import pathlib

from etlkit.controller import ControllerConfig, Edges, parse_scaling, run_tick
from etlkit.controller.claims import LocalClaims
from etlkit.controller.sharing import live_claims
from etlkit.workflow.parse import load_workflow
from tests.etlkit.controller.fakes import InlineMatcher, MemoryStore, Platform, Topics

REPO = pathlib.Path(__file__).resolve().parents[3]


def scaled_by(workflows) -> dict[str, list[str]]:
    """function -> the workflows whose autoscaler scales it."""
    owners: dict[str, list[str]] = {}
    for workflow in workflows:
        for function in sorted({b.function for b in workflow.scaling.bounds}):
            owners.setdefault(function, []).append(workflow.name)
    return owners


def test_functions_scaled_by_two_committed_workflows_run_the_sum_of_their_claims():
    workflows = [load_workflow(path) for path in sorted((REPO / "workflows").glob("*.yaml"))]
    shared = {f: names for f, names in scaled_by(workflows).items() if len(names) > 1}
    assert shared, "no committed function is shared any more: this test has nothing to check"
    specs = [parse_scaling({"workflow": w.name, "version": 1, "scaling": w.scaling_spec()})
             for w in workflows if any(w.name in names for names in shared.values())]
    functions = sorted({op.function for s in specs for op in s.operations})
    platform, board, store = Platform({f: ["node-a"] for f in functions}), LocalClaims(), MemoryStore()
    config = ControllerConfig.from_env({
        "PLATFORM": "openfaas-ce", "OPENFAAS_URL": "http://127.0.0.1:8080",
        "KAFKA_BOOTSTRAP": "127.0.0.1:9092", "GATEWAY_METRICS_URL": "http://127.0.0.1:8080/m"})
    topics = Topics()
    results = []
    for step in range(6):  # idle sources: each workflow keeps its minimum of each function
        for spec in specs:
            edges = Edges(topics, platform, platform, platform, InlineMatcher(), store,
                          claims=board)
            results.append(run_tick(spec, config, edges, now=step * 15.0 + len(results)))
    now = results[-1].at
    claims = live_claims(board.read(), now)
    for function, names in shared.items():
        assert sorted(c.workflow for c in claims[function]) == sorted(names)
        assert platform.function(function).desired == sum(c.replicas for c in claims[function])
    assert platform.function("filter").desired == 2  # orders 1 + host-metrics 1
    assert not any("changed outside" in r for res in results for r in res.reasons)
    assert all(res.status in ("applied", "unchanged") for res in results)
