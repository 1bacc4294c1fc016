"""The report carries the figures and says plainly when the data check failed."""
import json

from devstack.chaos.config import COMPONENTS, ChaosConfig
from devstack.chaos.datacheck import check
from devstack.chaos.measure import READ, WRITE, Fault, Op, Read
from devstack.chaos.report import build_report

CONFIG = ChaosConfig(duration_s=100, faults=("restart-warehouse",), quiet_s=10, tail_s=10)
FAULTS = [Fault("restart-warehouse", "warehouse", 50.0, 51.0, "PostgreSQL restarted")]
OPS = ([Op(WRITE, t, t + 0.01, True) for t in range(100)]
       + [Op(READ, t + 0.5, t + 0.51, not 50 <= t < 52) for t in range(100)])
READS = [Read(t + 0.51, t) for t in range(100) if not 50 <= t < 52]
CREATED = {t: float(t) - 0.3 for t in range(100)}
EXPECTED = {"a": {"v": 1}, "b": {"v": 2}}


def _report(rows, letters=()):
    return build_report(CONFIG, 100.0, OPS, READS, FAULTS, CREATED, check(EXPECTED, ["a", "b"], rows),
                        list(letters), rejected={}, drained_s=1.0, components=COMPONENTS,
                        runner_starts=1)


def test_a_clean_run_reports_its_figures_and_passes():
    report = _report([("a", {"v": 1}), ("b", {"v": 2})])
    doc = json.loads(json.dumps(report.doc))  # the JSON written by --out
    assert report.data_ok
    assert doc["overall"]["write"]["availability"] == 1.0
    assert doc["overall"]["read"]["outage_s"] == 2.0  # reads at 50.5 and 51.5 failed, 52.5 ok
    warehouse = next(r for r in doc["components"] if r["component"] == "warehouse")
    assert warehouse["read_availability"] == 0.98 and doc["goal"]["met"]
    text = report.text()
    assert "data check: OK" in text and "warehouse" in text and "98.000%" in text


def test_a_lost_record_and_dead_letters_are_spelled_out():
    report = _report([("a", {"v": 1})], letters=[{"reason": "warehouse-loader did not answer 200"}])
    assert not report.data_ok
    text = report.text()
    assert "data check: FAILED" in text and "missing 1" in text and "missing: b" in text
    assert "dead letters: 1" in text and "warehouse-loader did not answer 200" in text


def test_a_bad_record_without_its_dead_letter_fails_the_run_though_every_row_is_there():
    from devstack.chaos.datacheck import check_letters

    rows = [("a", {"v": 1}), ("b", {"v": 2})]
    letter = {"step": "double", "reason": "derive n2: not a number", "payload": {"id": "x"}}
    ok = check_letters({"x"}, [(("b1", 0), letter)])
    lost = check_letters({"x", "y"}, [(("b1", 0), letter)])
    good = build_report(CONFIG, 100.0, OPS, READS, FAULTS, CREATED, check(EXPECTED, ["a", "b"], rows),
                        [letter], rejected={}, drained_s=1.0, components=COMPONENTS,
                        runner_starts=1, letter_check=ok)
    bad = build_report(CONFIG, 100.0, OPS, READS, FAULTS, CREATED, check(EXPECTED, ["a", "b"], rows),
                       [letter], rejected={}, drained_s=1.0, components=COMPONENTS,
                       runner_starts=1, letter_check=lost)
    assert good.data_ok and "letter check: OK: 1 bad records acknowledged, 1 letters" in good.text()
    assert not bad.data_ok
    assert "letter check: FAILED" in bad.text() and "letters missing: y" in bad.text()
