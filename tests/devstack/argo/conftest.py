"""The recorder function, built from its folder and deployed to the session's local gateway."""
import pytest

from devstack.shrinkwrap import build_context
from devstack.stackfile import FunctionSpec

from .stack_helpers import RECORDER


@pytest.fixture(scope="session")
def record_dir(local_stack):
    path = local_stack.run_dir / "argo-records"
    path.mkdir(parents=True, exist_ok=True)
    spec = FunctionSpec(name=RECORDER, lang="python3-etl", handler="tests/devstack/argo/functions/recorder",
                        image=f"local/{RECORDER}:dev")
    build_context(local_stack.stack, spec, local_stack.run_dir / "build")
    with local_stack.session() as s:
        resp = s.post(f"{local_stack.url}/system/functions", json={
            "service": RECORDER, "image": spec.image, "envVars": {"RECORD_DIR": str(path)}})
        assert resp.status_code == 202, resp.text
    return path
