"""The daily loop with the CLI alone, on the embedded stack (real Tansu broker, the local gateway,
every function, the workflow manager, the local reconciler of `faas-etl up`): the from-scratch
example workflow applied (a typo refused before any call), started, fed, its step's records
tailed, its dead letter listed, its status, versions and stop. The fix and the replay are in
test_loop_replay_cli.py (marked long: the restarted run's groups take tens of seconds to settle
on Tansu). One stack for the module."""
from __future__ import annotations

import json

import pytest

from devstack.argo.supervisor import Supervisor
from devstack.dlq_cli import main as dlq
from devstack.topic_cli import main as topic
from devstack.workflow_cli import main as workflow
from etlkit.workflow import load_workflow
from tests.devstack.argo.stack_helpers import DEFAULT_HEARTBEAT_SESSION_TIMEOUT_MS, wait_for
from tests.devstack.test_try_cli import SAMPLE, SCHEMA_OPTION, WORKFLOW

pytestmark = pytest.mark.slow

FIXED = WORKFLOW.read_text().replace("cast: {ms: int}", "cast: {ms: float}")


@pytest.fixture(scope="module")
def stack(local_stack):
    """The session's stack with the reconciler `faas-etl up` runs for the workflow manager."""
    supervisor = Supervisor(local_stack.run_dir, local_stack.bootstrap, local_stack.url, local_stack.credentials,
                            interval_s=0.5, session_timeout_ms=DEFAULT_HEARTBEAT_SESSION_TIMEOUT_MS).start()
    try:
        yield local_stack
    finally:
        supervisor.stop()


def cli(main, stack, capsys, *args, kafka=False):
    """Run a command against ``stack`` (its addresses as options) and parse its --json answer."""
    where = ["--kafka", stack.bootstrap] if kafka else ["--gateway", stack.url, "--secrets-dir",
                                                         str(stack.secrets_dir)]
    code = main([*args, *where, "--run-dir", str(stack.run_dir), "--json"])
    out = capsys.readouterr()
    try:
        return code, json.loads(out.out), out.err
    except ValueError:  # JSON Lines (topic tail) or nothing
        return code, out.out, out.err


def test_apply_creates_then_changes_nothing_and_a_typo_is_refused_before_any_call(stack, capsys, tmp_path):
    code, doc, err = cli(workflow, stack, capsys, "apply", str(WORKFLOW), *SCHEMA_OPTION)
    assert code == 0, err
    assert (doc["name"], doc["version"], doc["action"]) == ("clicks", 1, "created")
    assert cli(workflow, stack, capsys, "apply", str(WORKFLOW))[1]["action"] == "unchanged"
    typo = tmp_path / "clicks.yaml"
    typo.write_text(FIXED.replace("{page_url: page}", "{page_ulr: page}"))
    code, doc, _ = cli(workflow, stack, capsys, "apply", str(typo), *SCHEMA_OPTION)
    assert code == 1 and doc["errors"][0].startswith("steps[1].params.rename.page_ulr: unknown field 'page_ulr'")
    code, history, _ = cli(workflow, stack, capsys, "history", "clicks")
    assert code == 0 and [v["version"] for v in history] == [1]  # nothing stored


def test_start_feed_and_tail_the_records_a_step_wrote(stack, capsys):
    code, doc, err = cli(workflow, stack, capsys, "start", "clicks")
    assert code == 0 and doc["state"] in ("starting", "running"), err
    wait_for(lambda: cli(workflow, stack, capsys, "status", "clicks")[1].get("state") == "running", 60,
             "the run to be running")
    source = load_workflow(WORKFLOW).sources[0]
    with stack.session() as http:  # what the declared file source streams (no end: more will come)
        resp = http.post(f"{stack.url}/function/file-source",
                         json={"source": {**source.spec(), "dead_letter": "clicks-dlq"}}, timeout=60)
    assert resp.status_code == 200 and resp.json()["records"] == 38, resp.text

    def tidy_records():
        return cli(topic, stack, capsys, "tail", "clicks-tidy", "-n", "100", kafka=True)[1]

    wait_for(lambda: isinstance(tidy_records(), str) and len(tidy_records().splitlines()) == 27, 90,
             "the 27 records tidy writes")
    tailed = [json.loads(line) for line in tidy_records().splitlines()]
    assert all(r["topic"] == "clicks-tidy" and isinstance(r["value"]["ms"], int) for r in tailed)
    assert sorted(r["value"]["ts"] for r in tailed) == sorted(
        v["ts"] for v in map(json.loads, filter(lambda l: l.startswith("{") and l.endswith("}"),
                                                 SAMPLE.read_text().splitlines()))
        if v["kind"] == "view" and v["ms"].isdigit())
    code, listed, _ = cli(topic, stack, capsys, "list", "-w", str(WORKFLOW), kafka=True)
    assert code == 0 and {t["name"]: t["partitions"] for t in listed}["clicks-tidy"] == 2


def test_dlq_list_shows_the_bad_record_with_its_reason(stack, capsys):
    wait_for(lambda: len(cli(dlq, stack, capsys, "list", "-w", str(WORKFLOW), kafka=True)[1]) == 3, 60,
             "three letters: two bad lines, one failed cast")
    code, letters, _ = cli(dlq, stack, capsys, "list", "-w", str(WORKFLOW), "--step", "tidy", kafka=True)
    assert code == 0 and len(letters) == 1
    assert letters[0]["reason"] == "field ms: cannot cast number 1250.5 to int (not an integral number)"
    assert letters[0]["payload"]["ms"] == "1250.5" and letters[0]["topic"] == "clicks-views"
    assert [d["step"] for d in cli(dlq, stack, capsys, "list", "-w", str(WORKFLOW), "--reason", "line ",
                                   kafka=True)[1]] == ["clicks-file", "clicks-file"]


def test_status_list_history_and_stop(stack, capsys):
    code, status, _ = cli(workflow, stack, capsys, "status", "clicks")
    assert code == 0 and [s["name"] for s in status["steps"]] == ["views-only", "tidy", "per-page", "sink"]
    code, listed, _ = cli(workflow, stack, capsys, "list")
    assert {"name": "clicks", "version": 1, "run": "running", "running_version": 1}.items() <= \
        next(w for w in listed if w["name"] == "clicks").items()
    assert [v["version"] for v in cli(workflow, stack, capsys, "history", "clicks")[1]] == [1]
    code, doc, _ = cli(workflow, stack, capsys, "stop", "clicks")
    assert code == 0 and doc["state"] in ("stopping", "stopped")
    code, doc, err = cli(workflow, stack, capsys, "start", "no-such-workflow")
    assert code == 1 and "no-such-workflow" in doc["errors"][0], err
