"""The run summary: one JSON-ready dict, and the table printed from it."""
import json

from devstack.pipeline.books import Books, SourceBooks, StepBooks
from devstack.pipeline.summary import render_summary, summary_of

BOOKS = Books(sources=(SourceBooks("api", "http", 5, 4, 1, 0),),
              steps=(StepBooks("keep", "filter", 4, 2, 1, 1, 2), StepBooks("sink", "sink", 2, 2, 0, 0, 0)),
              dead_letters=(("keep", "amount: not a number", 1),), warehouse_rows=2)


def _summary(books=BOOKS):
    return summary_of("shop", books, table="totals", warehouse="sqlite:///w.db", elapsed_s=3.21,
                      throughput=(5, 2.0), skipped=[{"sensor": "shop-autoscaler", "reason": "not deployed"}],
                      runner={"shop-keep": {"events_in": 4}}, notes=["a note"])


def test_summary_is_plain_json_with_every_count():
    summary = json.loads(json.dumps(_summary()))
    assert summary["ok"] is True
    assert summary["steps"][0] == {"name": "keep", "kind": "filter", "in": 4, "out": 2, "filtered": 1,
                                   "dead_lettered": 1, "emitted": 2, "balanced": True, "problems": []}
    assert summary["data_path"] == {"records": 5, "seconds": 2.0, "records_per_s": 2.5}
    assert summary["warehouse"] == {"table": "totals", "rows": 2, "url": "sqlite:///w.db"}


def test_the_table_shows_the_verdict_counts_reasons_and_what_was_not_run():
    text = render_summary(_summary())
    assert text.splitlines()[0] == "faas-etl run: workflow shop: OK: the books balance"
    assert any(line.split() == ["keep", "filter", "4", "2", "1", "1", "2", "yes"] for line in text.splitlines())
    assert "amount: not a number" in text and "2 rows in totals" in text
    assert "not run: Sensor shop-autoscaler (not deployed)" in text


def test_an_unbalanced_step_is_a_mismatch_with_its_problem_shown():
    broken = Books(BOOKS.sources, (StepBooks("keep", "filter", 4, 3, 0, 0, 3, ("keep: lost one",)),),
                   BOOKS.dead_letters, 2)
    text = render_summary(_summary(broken))
    assert "MISMATCH" in text.splitlines()[0]
    assert "problem: keep: lost one" in text
