"""Factories for the Runner's tests: the sample orders workflow as stored versions and documents."""
from __future__ import annotations

import pytest

from etlkit.runs.documents import parse_documents, stamp
from etlkit.state_db import SqliteStateDb
from etlkit.workflow import StateDbWorkflowStore, WorkflowConfigs, parse_workflow
from etlkit.workflow.render import render_workflow
from tests.conftest import REPO

# Edited as text: a YAML 1.1 round trip would turn the enrich step's `on:` key into `true`.
ORDERS = (REPO / "workflows" / "orders.yaml").read_text()
# Version 2: wider windows (the aggregate's Sensor changes) and no legacy table (its Sensor goes).
LEGACY = ORDERS[ORDERS.index("  # The legacy shop database"):ORDERS.index("\nsteps:")]
ORDERS_V2 = ORDERS.replace(LEGACY, "").replace("      window: 1m\n", "      window: 2m\n")
# Version 3: version 2 plus a host-metrics source (a Sensor named orders-host appears).
ORDERS_V3 = ORDERS_V2.replace("\nsteps:", "\n  - name: host\n    kind: metrics\n    topic: orders-raw\n"
                                          "    interval: 30s\n\nsteps:", 1)


def documents_of(text: str, version: int, started_at: str = "2026-01-01T00:00:00.000000Z"):
    """The stamped documents a start of ``text`` as ``version`` applies."""
    rendered = render_workflow(parse_workflow(text), version)
    return stamp(parse_documents((str(f.path), f.text) for f in rendered), version, started_at)


@pytest.fixture
def configs(tmp_path):
    """A Configs service over a fresh SQLite store, the clock at 1000 ms."""
    return WorkflowConfigs(StateDbWorkflowStore(SqliteStateDb(tmp_path / "state.db")), clock=lambda: 1000)


@pytest.fixture(scope="module")
def broker(tmp_path_factory):
    """A throwaway embedded broker (starts in well under a second)."""
    from devstack.broker import EmbeddedBroker

    b = EmbeddedBroker(log_path=tmp_path_factory.mktemp("broker") / "broker.log").start()
    yield b
    b.stop()
