"""After fixing the workflow, its dead letter replayed twice lands in the warehouse once: the
from-scratch example applied, started and fed with the CLI, the cast that dead-lettered a record
fixed (`workflow apply` stores version 2, `workflow start` replaces the run), `dlq replay --step`
twice, the end of input sent: warehouse rows equal to an independent computation of the sample.

Marked long: the replaced run's consumer groups take about 45 s to settle on Tansu before the
end of input reaches the aggregate. Its own workflow name and topics, so it can share the
session's stack with test_loop_cli.py. Open: run alone it passes (rows equal to the computation);
run after test_loop_cli.py in one session it timed out once waiting for the rows (180 s): the
cause, in the second module's reconciler on the shared run folder or the replaced run, is not
found yet."""
from __future__ import annotations

import json
import time

import pytest

from devstack.dlq_cli import main as dlq
from devstack.pipeline.sqldb import read_table
from devstack.workflow_cli import main as workflow
from etlkit.workflow import parse_workflow
from tests.devstack.argo.stack_helpers import wait_for
from tests.devstack.test_loop_cli import cli, stack  # noqa: F401 - the module's stack fixture
from tests.devstack.test_try_cli import SAMPLE, SCHEMA_OPTION, WORKFLOW

pytestmark = [pytest.mark.slow, pytest.mark.long]

ORIGINAL = WORKFLOW.read_text().replace("name: clicks", "name: clicksfix").replace("clicks-", "clicksfix-") \
    .replace("page_minutes", "page_minutes_fix")
FIXED = ORIGINAL.replace("cast: {ms: int}", "cast: {ms: float}")
SCHEMA = ["--schema", SCHEMA_OPTION[1].replace("clicks-raw=", "clicksfix-raw=")]


def expected_rows(ms_of=float):
    """Views per page per minute and their seconds, computed from the sample by hand."""
    rows = {}
    for line in SAMPLE.read_text().splitlines():
        try:
            value = json.loads(line)
        except ValueError:
            continue
        if not isinstance(value, dict) or value["kind"] != "view":
            continue
        key = f"{value['page_url'].replace('/', '%2F')}/{value['ts'] // 60_000 * 60_000}"
        views, seconds = rows.get(key, (0, 0.0))
        rows[key] = (views + 1, seconds + ms_of(value["ms"]) / 1000)
    return rows



def test_after_fixing_the_replayed_letter_lands_in_the_warehouse_once(stack, capsys, tmp_path):
    original, fixed = tmp_path / "clicksfix.yaml", tmp_path / "fixed" / "clicksfix.yaml"
    original.write_text(ORIGINAL)
    fixed.parent.mkdir()
    fixed.write_text(FIXED)
    assert cli(workflow, stack, capsys, "apply", str(original), *SCHEMA)[0] == 0
    assert cli(workflow, stack, capsys, "start", "clicksfix")[0] == 0
    wait_for(lambda: cli(workflow, stack, capsys, "status", "clicksfix")[1].get("state") == "running", 60, "running")
    source = parse_workflow(ORIGINAL).sources[0]
    with stack.session() as http:
        resp = http.post(f"{stack.url}/function/file-source",
                         json={"source": {**source.spec(), "dead_letter": "clicksfix-dlq"}}, timeout=60)
    assert resp.status_code == 200, resp.text
    wait_for(lambda: len(cli(dlq, stack, capsys, "list", "-w", str(original), "--step", "tidy", kafka=True)[1]) == 1,
             60, "tidy's letter")

    code, doc, err = cli(workflow, stack, capsys, "apply", str(fixed), *SCHEMA)
    assert code == 0 and (doc["version"], doc["action"]) == (2, "updated"), err
    assert cli(workflow, stack, capsys, "start", "clicksfix")[0] == 0
    wait_for(lambda: cli(workflow, stack, capsys, "status", "clicksfix")[1].get("version") == 2
             and cli(workflow, stack, capsys, "status", "clicksfix")[1].get("state") == "running", 60,
             "version 2 running")
    for _ in range(2):  # twice: the second is recognised downstream by its batch id
        code, doc, err = cli(dlq, stack, capsys, "replay", "-w", str(fixed), "--step", "tidy", kafka=True)
        assert code == 0 and doc["records"] == {"clicksfix-views": 1}, err
    time.sleep(2)  # the replayed record ahead of the end of input on its partition
    with stack.session() as http:  # the input is over: the last windows close
        assert http.post(f"{stack.url}/function/ingest/clicksfix-raw?end=true", timeout=60).status_code == 200
    url = f"sqlite:///{stack.run_dir / 'warehouse.db'}"
    want = expected_rows()

    def rows():
        return {r["window_id"]: (r["views"], r["seconds"]) for r in read_table(url, "page_minutes_fix")}

    wait_for(lambda: rows().keys() == want.keys() and sum(v for v, _ in rows().values()) == 28, 180,
             "every window in the warehouse, the fixed record in one of them")
    got = rows()
    assert {k: v for k, (v, _s) in got.items()} == {k: v for k, (v, _s) in want.items()}
    assert all(got[k][1] == pytest.approx(s) for k, (_v, s) in want.items())
    letters = cli(dlq, stack, capsys, "list", "-w", str(fixed), kafka=True)[1]
    assert len(letters) == 3  # the replayed record was not dead-lettered again, nor late
    assert cli(workflow, stack, capsys, "stop", "clicksfix")[0] == 0
