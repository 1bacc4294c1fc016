"""The local gateway with ``edition="ce"`` answers an autoscaler's calls as OpenFaaS CE does.

Each row is read from the upstream handler a call passes through on CE:

* openfaas/faas 0.27.14 ``gateway/main.go``: ``/system/scale-function/{name}`` (POST) and
  ``/system/function/{name}`` (GET) are wrapped in ``auth.DecorateWithBasicAuth`` and forwarded
  to the provider;
* openfaas/faas 0.27.14 ``gateway/scaling/ranges.go`` MakeHorizontalScalingHandler: a body that
  does not decode is 400 "Error unmarshalling request body"; replicas below 1 become 1, above
  ``DefaultMaxReplicas`` (5) become 5, before faas-netes sees the request;
* openfaas/faas-netes 0.18.17 ``pkg/handlers/replica_updater.go``: the namespace comes from the
  query and must be the functions' namespace (400 "namespace must be: ..."); an unknown
  function is 500 "Unable to lookup function deployment <name>"; success is 202, no body;
* faas-netes 0.18.17 ``pkg/handlers/replica_reader.go``: an unknown function is 404 with no
  body; a known one 200 with its FunctionStatus (``replicas``, ``availableReplicas``, labels);
* faas-netes 0.18.17 ``pkg/handlers/update.go`` updateDeploymentSpec: an update sets the
  Deployment's replicas to ``com.openfaas.scale.min`` when the function has that label.
"""
import pytest

from .own_gateway import start_gateway

HANDLER = "def handle(event, context):\n    return {'statusCode': 200, 'body': 'ok'}\n"
LABELS = {"com.openfaas.scale.min": "1", "com.openfaas.scale.max": "5",
          "com.openfaas.scale.factor": "0"}


@pytest.fixture(scope="module")
def ce(tmp_path_factory):
    gw, session = start_gateway(tmp_path_factory.mktemp("ce"), "fn", HANDLER, edition="ce",
                                labels=LABELS)
    yield gw, session
    session.close()
    gw.stop()


def _scale(ce, body, name="fn", query="?namespace=openfaas-fn", raw=None):
    gw, session = ce
    return session.post(f"{gw.url}/system/scale-function/{name}{query}",
                        data=raw if raw is not None else None, json=body if raw is None else None)


def _replicas(ce):
    gw, session = ce
    return session.get(f"{gw.url}/system/function/fn").json()["replicas"]


@pytest.mark.parametrize("asked, replicas", [(2, 2), (0, 1), (9, 5), (1, 1)],
                         ids=["within-range", "zero-raised-to-1", "above-5-lowered-to-5", "back-to-1"])
def test_scaling_is_202_with_no_body_within_1_to_5(ce, asked, replicas):
    resp = _scale(ce, {"serviceName": "fn", "namespace": "openfaas-fn", "replicas": asked})
    assert (resp.status_code, resp.content) == (202, b"")
    assert _replicas(ce) == replicas


@pytest.mark.parametrize("kw, code, body", [
    ({"body": None, "raw": b"{not json"}, 400, b"Error unmarshalling request body\n"),
    ({"body": {"replicas": -1}}, 400, b"Error unmarshalling request body\n"),
    ({"body": {"replicas": 2}, "query": "?namespace=other"}, 400, b"namespace must be: openfaas-fn\n"),
    ({"body": {"replicas": 2}, "name": "nope"}, 500, b"Unable to lookup function deployment nope"),
], ids=["body-not-json", "negative-count", "other-namespace", "unknown-function"])
def test_scaling_refusals_answer_as_upstream(ce, kw, code, body):
    resp = _scale(ce, **kw)
    assert (resp.status_code, resp.content) == (code, body)


def test_the_system_calls_need_the_credentials(ce):
    gw, _ = ce
    import requests

    assert requests.post(f"{gw.url}/system/scale-function/fn", json={"replicas": 2}).status_code == 401
    assert requests.get(f"{gw.url}/system/function/fn").status_code == 401


def test_function_status_has_replicas_and_labels_and_no_instances(ce):
    gw, session = ce
    doc = session.get(f"{gw.url}/system/function/fn?namespace=openfaas-fn").json()
    assert doc["replicas"] == 1 and doc["availableReplicas"] <= 1
    assert doc["labels"]["com.openfaas.scale.factor"] == "0"
    assert "instances" not in doc  # CE names no pod and no node
    missing = session.get(f"{gw.url}/system/function/nope")
    assert (missing.status_code, missing.content) == (404, b"")


def test_an_update_resets_the_replicas_to_the_min_label(ce):
    gw, session = ce
    assert _scale(ce, {"replicas": 3}).status_code == 202
    resp = session.put(f"{gw.url}/system/functions",
                       json={"service": "fn", "image": "local/fn:dev", "labels": LABELS})
    assert resp.status_code == 202, resp.text
    assert _replicas(ce) == 1  # com.openfaas.scale.min
