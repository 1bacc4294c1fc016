"""Test functions for the controller, built from their folders and deployed to the session's
local gateway (the autoscaler and matcher functions are deployed from stack.yml)."""
import pytest

from devstack.shrinkwrap import build_context
from devstack.stackfile import FunctionSpec


def deploy(local_stack, name, folder, env=None, replicas=1, constraints=()):
    spec = FunctionSpec(name=name, lang="python3-etl", handler=folder, image=f"local/{name}:dev")
    build_context(local_stack.stack, spec, local_stack.run_dir / "build")
    with local_stack.session() as s:
        resp = s.post(f"{local_stack.url}/system/functions", json={
            "service": name, "image": spec.image, "envVars": env or {},
            "constraints": list(constraints),
            "labels": {"com.openfaas.scale.min": str(replicas)}})
        assert resp.status_code == 202, resp.text
    return name


@pytest.fixture(scope="module")
def worker(local_stack):
    """A fresh stand-in step function per module (the controller scales it)."""
    import uuid

    return deploy(local_stack, f"ctl-worker-{uuid.uuid4().hex[:6]}",
                  "tests/controller/functions/worker")
