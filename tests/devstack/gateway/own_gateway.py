"""A gateway of a test module's own (not the session's stack), serving one handler given as text."""
from __future__ import annotations

import pathlib
import shutil

import requests

from devstack.gateway.auth import load_credentials
from devstack.gateway.server import LocalGateway
from devstack.topology import load_topology

REPO = pathlib.Path(__file__).resolve().parents[3]


def start_gateway(root: pathlib.Path, name: str, handler: str, edition: str = "local",
                  **deployment) -> tuple[LocalGateway, requests.Session]:
    """A gateway with its files under ``root`` and the python3-etl function ``name`` (``handler``:
    the text of its handler.py) deployed; ``edition``: the gateway's (local, or ce);
    ``deployment``: more FunctionDeployment fields. Returns
    the gateway and a session with its credentials; the caller stops both."""
    build = root / "build" / name
    shutil.copytree(REPO / "template" / "python3-etl", build)
    (build / "function" / "handler.py").write_text(handler)
    secrets = root / "secrets"
    gw = LocalGateway(root / "build", load_topology(REPO / "config" / "topology.yml"),
                      load_credentials(secrets, create=True), secrets,
                      {"PATH": "/usr/bin:/bin"}, root / "logs", edition=edition).start()
    session = requests.Session()
    session.auth = (gw.credentials.user, gw.credentials.password)
    resp = session.post(f"{gw.url}/system/functions", timeout=60,
                        json={"service": name, "image": f"local/{name}:dev", **deployment})
    assert resp.status_code == 202, resp.text
    return gw, session
