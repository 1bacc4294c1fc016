"""faas-etl try and faas-etl validate on a workflow written from scratch (workflows/examples/
clicks.yaml: JSON Lines with bad lines, filter, map with rename/cast/derive, per page per minute,
SQLite sink): outputs, dead letters and windows equal to an independent computation of the
sample, and a typo in a parameter's field name refused by both before anything runs."""
from __future__ import annotations

import json
import pathlib

import pytest

from devstack.try_cli import main as try_main
from devstack.validate_cli import main as validate_main

REPO = pathlib.Path(__file__).resolve().parents[2]
EXAMPLE = REPO / "workflows" / "examples"
WORKFLOW, SAMPLE, SCHEMA = EXAMPLE / "clicks.yaml", EXAMPLE / "clicks.jsonl", EXAMPLE / "clicks-raw.schema.json"
SCHEMA_OPTION = ["--schema", f"clicks-raw={SCHEMA}"]


def expected():
    """The sample computed by hand: lines that are JSON objects, views only, ms as a whole
    number (else a dead letter), seconds = ms / 1000, then per page per minute of ts."""
    bad_lines, failed_casts, tidy, windows = [], [], [], {}
    for number, line in enumerate(SAMPLE.read_text().splitlines(), 1):
        try:
            value = json.loads(line)
        except ValueError:
            bad_lines.append(number)
            continue
        if not isinstance(value, dict):
            bad_lines.append(number)
            continue
        if value["kind"] != "view":
            continue
        if not value["ms"].isdigit():
            failed_casts.append(value)
            continue
        tidy.append({**{k: v for k, v in value.items() if k != "page_url"}, "page": value["page_url"],
                     "ms": int(value["ms"]), "seconds": int(value["ms"]) / 1000})
        start = value["ts"] // 60_000 * 60_000
        views, seconds = windows.get((value["page_url"], start), (0, 0.0))
        windows[value["page_url"], start] = (views + 1, seconds + int(value["ms"]) / 1000)
    return bad_lines, failed_casts, tidy, windows


def run_try(capsys, *args):
    code = try_main([str(WORKFLOW), "--input", str(SAMPLE), *SCHEMA_OPTION, "--json", *args])
    return code, capsys.readouterr()


def test_try_prints_the_outputs_letters_and_windows_of_an_independent_computation(capsys):
    bad_lines, failed_casts, tidy, windows = expected()
    code, out = run_try(capsys)
    assert code == 0, out.err
    doc = json.loads(out.out)
    steps = {s["name"]: s for s in doc["steps"]}
    assert doc["source"]["dead_lettered"] == len(bad_lines) == 2
    by_ts = sorted((r["value"] for r in steps["tidy"]["records"]), key=lambda v: v["ts"])
    assert by_ts == sorted(tidy, key=lambda v: v["ts"])
    got = {(w["value"]["page"], w["value"]["window_start"]): (w["value"]["views"], w["value"]["seconds"])
           for w in steps["per-page"]["windows"]}
    assert got.keys() == windows.keys()
    for key, (views, seconds) in windows.items():
        assert got[key][0] == views and got[key][1] == pytest.approx(seconds)
    letters = doc["dead_letters"]
    assert [(d["step"], d["reason"].split(":")[0]) for d in letters[:2]] == \
        [("clicks-file", f"line {n}") for n in bad_lines]
    assert [(d["step"], d["payload"]) for d in letters[2:]] == [("tidy", v) for v in failed_casts]
    assert letters[2]["reason"] == "field ms: cannot cast number 1250.5 to int (not an integral number)"
    assert steps["views-only"]["counters"]["filtered"] == 38 - 28


def test_try_step_runs_up_to_that_step_and_shows_only_it(capsys):
    code, out = run_try(capsys, "--step", "tidy")
    assert code == 0, out.err
    assert [s["name"] for s in json.loads(out.out)["steps"]] == ["tidy"]


def test_try_text_names_each_step_and_each_letter(capsys):
    assert try_main([str(WORKFLOW), "--input", str(SAMPLE), "--limit", "1"]) == 0
    out = capsys.readouterr().out
    assert "step per-page (aggregate) -> clicks-per-page: in 27" in out
    assert "tidy: field ms: cannot cast number 1250.5 to int" in out and "... 10 more" in out


TYPOS = [
    pytest.param("{page_url: page}", "{page_ulr: page}", "steps[1].params.rename.page_ulr", "page_ulr", id="rename"),
    pytest.param('condition: "kind == \'view\'"', 'condition: "knd == \'view\'"', "steps[0].condition", "knd",
                 id="filter"),
    pytest.param("cast: {ms: int}", "cast: {msec: int}", "steps[1].params.cast.msec", "msec", id="cast"),
    pytest.param('"ms / 1000"', '"mss / 1000"', "steps[1].params.derive.seconds", "mss", id="derive"),
    pytest.param("group_by: [page]", "group_by: [page_url]", "steps[2].params.group_by[0]", "page_url",
                 id="group-by-the-renamed-field"),
]


@pytest.mark.parametrize("good, typo, where, name", TYPOS)
def test_a_typo_in_a_field_name_is_refused_by_try_and_validate_before_it_runs(
        good, typo, where, name, tmp_path, capsys):
    text = WORKFLOW.read_text()
    assert good in text
    broken = tmp_path / "clicks.yaml"
    broken.write_text(text.replace(good, typo))
    assert try_main([str(broken), "--input", str(SAMPLE), *SCHEMA_OPTION, "--json"]) == 1
    out = capsys.readouterr()
    errors = json.loads(out.out)["errors"]
    assert errors == [f"{where}: unknown field {name!r} (known: {errors[0].split('(known: ')[1]}"]
    assert "steps" not in json.loads(out.out)  # refused before any step ran
    assert validate_main([str(broken), *SCHEMA_OPTION, "--json"]) == 1
    findings = json.loads(capsys.readouterr().out)["findings"]
    assert [(f["path"], f["rule"]) for f in findings] == [(where, errors[0].split(": ", 1)[1])]


def test_validate_reports_every_error_of_an_invalid_workflow_file(tmp_path, capsys):
    """Before: `faas-etl validate` said 0 findings for an invalid workflow file (issue 17)."""
    bad = tmp_path / "bad.yaml"
    bad.write_text("name: Bad\nsources: []\nsink: {table: t}\n")
    assert validate_main([str(bad)]) == 1
    lines = capsys.readouterr().out.splitlines()
    assert [line.split("] ", 1)[1] for line in lines] == [
        "dead_letter: required",
        "name: 'Bad' is not a valid name (lowercase letters, digits and '-', starting and ending with a "
        "letter or digit)",
        "sink.key: required", "sources: must have at least one entry", "topics: required"]


def test_validate_passes_the_example_with_its_schema_and_every_committed_workflow(capsys):
    assert validate_main([str(EXAMPLE), *SCHEMA_OPTION]) == 0
    assert validate_main([str(REPO / "workflows")]) == 0
    assert "0 finding(s)" in capsys.readouterr().err


def test_the_registrys_store_gives_the_fields_too(tmp_path, capsys):
    """The registry's versions in the state database (what ingest and schema-registry share)
    are read as well: named by --state-url, and found in the run folder by default."""
    from etlkit.schemas import SchemaRegistry, StateDbSchemaStore
    from etlkit.state_db import SqliteStateDb

    store = tmp_path / "run" / "step-state.db"
    SchemaRegistry(StateDbSchemaStore(SqliteStateDb(store))).register("clicks-raw", json.loads(SCHEMA.read_text()))
    broken = tmp_path / "clicks.yaml"
    broken.write_text(WORKFLOW.read_text().replace("{page_url: page}", "{page_ulr: page}"))
    assert try_main([str(broken), "--input", str(SAMPLE), "--state-url", f"sqlite:///{store}"]) == 1
    assert "unknown field 'page_ulr'" in capsys.readouterr().err
    assert try_main([str(broken), "--input", str(SAMPLE), "--run-dir", str(store.parent)]) == 1
    assert "unknown field 'page_ulr'" in capsys.readouterr().err


@pytest.mark.parametrize("args, error", [
    (["--step", "nope"], "--step nope: not a step of workflow clicks (its steps: views-only, tidy, per-page)"),
    (["--source", "nope"], "--source nope: not a source of workflow clicks (its sources: clicks-file)"),
    (["--schema", "clicks-raw"], "--schema clicks-raw: give TOPIC=FILE"),
], ids=["unknown-step", "unknown-source", "schema-without-file"])
def test_a_bad_option_is_refused_naming_it(args, error, capsys):
    assert try_main([str(WORKFLOW), "--input", str(SAMPLE), *args]) == 1
    assert error in capsys.readouterr().err


def readme_commands() -> list[list[str]]:
    """The `try` and `validate` lines of the README's example and workflows/README.md's."""
    import shlex

    text = (REPO / "README.md").read_text() + (REPO / "workflows" / "README.md").read_text().replace("\\\n", "")
    out = []
    for line in text.splitlines():
        line = line.split("#")[0].replace("$S", "workflows/examples").replace(".venv/bin/", "").strip()
        if line.startswith(("faas-etl try workflows/examples", "faas-etl validate workflows/examples")):
            out.append(shlex.split(line)[1:])
    return out


def test_the_readme_examples_run(monkeypatch, capsys):
    commands = readme_commands()
    assert [c[0] for c in commands] == ["try", "validate", "try"]
    monkeypatch.chdir(REPO)
    for command in commands:
        main = try_main if command[0] == "try" else validate_main
        assert main(command[1:]) == 0, command
    assert "step tidy (map)" in capsys.readouterr().out
