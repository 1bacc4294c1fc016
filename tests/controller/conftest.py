"""Test functions for the controller, built from their folders and deployed to the session's
local gateway (the autoscaler and matcher functions are deployed from stack.yml)."""
import pytest


def deploy(local_stack, name, folder, env=None, replicas=1, constraints=()):
    return local_stack.deploy_folder(name, folder, envVars=env or {}, constraints=list(constraints),
                                     labels={"com.openfaas.scale.min": str(replicas)})


@pytest.fixture(scope="module")
def worker(local_stack):
    """A fresh stand-in step function per module (the controller scales it)."""
    import uuid

    return deploy(local_stack, f"ctl-worker-{uuid.uuid4().hex[:6]}",
                  "tests/controller/functions/worker")
