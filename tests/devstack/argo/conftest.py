"""The recorder function, built from its folder and deployed to the session's local gateway."""
import pytest

from .stack_helpers import RECORDER


@pytest.fixture(scope="session")
def record_dir(local_stack):
    path = local_stack.run_dir / "argo-records"
    path.mkdir(parents=True, exist_ok=True)
    local_stack.deploy_folder(RECORDER, "tests/devstack/argo/functions/recorder", envVars={"RECORD_DIR": str(path)})
    return path
