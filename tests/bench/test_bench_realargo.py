"""bench/bench_realargo.py: the paced run's rounds close the round before them, and only it.

The latency the bench reports is from round r+1's write to round r's windows in the warehouse;
that is the latency of the data path only if round r+1 on every partition is what closes
round r's windows (and round r+1's stay open). Checked here with the aggregate step's own code
(etlkit/steps/aggregation.py ``run_aggregate``) and the committed workflow's aggregate config,
each round's records on the partitions the source writes them to, partitions in a shuffled order.
"""
from __future__ import annotations

import random
import zlib

import pytest

from bench.bench_pipeline import REPO, aggregate_step, expected_rows
from bench.bench_realargo import ROUND_RECORDS, _rounds
from etlkit.steps.aggregation import AggregateConfig, run_aggregate
from etlkit.steps.file_lookup import FileLookupSource
from etlkit.steps.record import Record
from etlkit.workflow import load_workflow
from etlkit.workflow.model import thaw

WORKFLOW = load_workflow(REPO / "workflows" / "orders.yaml")
CONFIG = AggregateConfig.from_dict(thaw(aggregate_step(WORKFLOW).params))
COUNTRIES = FileLookupSource(REPO / "workflows" / "data" / "customers.csv", "customer_id").load()


def _as_aggregated(order) -> dict:
    """The order as the aggregate sees it: the enrich step added its customer's country."""
    return {**order.value, "country": COUNTRIES[order.value["cust_id"]]["country"]}


@pytest.mark.parametrize("seed", range(3))
def test_round_r_on_every_partition_closes_round_r_minus_1_and_only_it(seed):
    rounds = _rounds(WORKFLOW, 4)
    assert [len(items) for items in rounds] == [ROUND_RECORDS] * 4
    rng, state, emitted = random.Random(seed), None, []
    for r, items in enumerate(rounds):
        by_partition: dict[int, list[Record]] = {}
        for order in items:
            partition = zlib.crc32(order.key.encode()) % 6  # where the source writes it
            by_partition.setdefault(partition, []).append(Record(value=_as_aggregated(order), key=order.key,
                                                                 partition=partition))
        assert sorted(by_partition) == list(range(6))  # every partition hears of every round
        order_of = list(by_partition)
        rng.shuffle(order_of)
        for i, partition in enumerate(order_of):
            outcome = run_aggregate(CONFIG, by_partition[partition], state, step="per-country",
                                    now_ms=0, partition=partition, partitions=6)
            assert outcome.dead_letters == ()
            state = outcome.state
            closed = {row.value["window_id"] for row in outcome.records}
            last = i == len(order_of) - 1
            # Round r-1's windows close with round r's last partition, not before, all at once.
            assert closed == (set(expected_rows(WORKFLOW, rounds[r - 1])) if last and r else set())
            emitted += [row.value for row in outcome.records]
    every = {w: row for items in rounds[:-1] for w, row in expected_rows(WORKFLOW, items).items()}
    assert {row["window_id"]: row for row in emitted} == every
